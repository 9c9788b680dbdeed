from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Decode caches of the tests go to a temporary folder, never into the project's data/cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("XRAY_CACHE_DIR", str(tmp_path_factory.mktemp("xray-cache")))
    yield
    mp.undo()


@pytest.fixture
def shared_data() -> Path:
    """The real data beside the checkout (../shared/data); tests using it skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture
def tiny_folder(tmp_path):
    """Factory: a small Kaggle-layout folder ROOT/{split}/{class}/*.jpeg of synthetic phantoms, ``n``
    images per split and class, two images per patient, Kaggle-style file names. Returns ROOT."""
    from xray_utils.data import synthetic_phantom

    def make(name: str = "xr", n: int = 6, splits=("train", "test"), classes=("NORMAL", "PNEUMONIA"),
             size: int = 48) -> Path:
        root = tmp_path / name
        for s, split in enumerate(splits):
            for label, cls in enumerate(classes):
                folder = root / split / cls
                folder.mkdir(parents=True, exist_ok=True)
                for i in range(n):
                    file = f"person{i // 2}_bacteria_{i}.jpeg" if label else f"IM-{i // 2:04d}-{i % 2 + 1:04d}.jpeg"
                    rng = np.random.default_rng([s, label, i])  # every image differs, the same every run
                    Image.fromarray(synthetic_phantom(rng, size, bool(label))).save(folder / file)
        return root

    return make
