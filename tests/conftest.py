from pathlib import Path

import pytest

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
