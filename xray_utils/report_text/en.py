"""The report's English texts (keys shared with zh_tw; ``report_text.text`` formats them)."""

EN = {
    # page
    "title": "Transfer learning for pediatric chest X-rays: NORMAL vs PNEUMONIA",
    "subtitle": "ResNet18 and SqueezeNet, fine-tuned and as frozen feature extractors",
    "synthetic_banner": "SYNTHETIC DATA. This report was made from generated phantom images, not chest X-rays. "
                        "Its numbers say nothing about pneumonia; they only show that the whole pipeline works.",
    # banners and figure labels (report/banners.py, plots.py)
    "random_weights_banner": "RANDOM WEIGHTS, NOT TRANSFER LEARNING. These runs on real X-rays started from random "
                             "weights, not ImageNet-pretrained ones: {runs}. Their 'fine-tune' is training from "
                             "scratch and their 'frozen' trains a head on a random, fixed feature extractor; their "
                             "numbers say nothing about transfer learning.",
    "degenerate_banner": "DEGENERATE RUNS: {runs} predict a single class at threshold 0.5 or rank the test images "
                         "below chance. Their accuracy, sensitivity and specificity describe a constant or inverted "
                         "classifier, not a learned one (Task E marks them).",
    "degenerate_run": "{run} is degenerate: {why}.",
    "degenerate_single_class": "it predicts a single class at threshold 0.5 (sensitivity or specificity 0%)",
    "degenerate_below_chance": "it ranks below chance (ROC-AUC under 0.5, its whole 95% interval too)",
    "degenerate_short_single_class": "one class at 0.5", "degenerate_short_below_chance": "below chance",
    "src_folder": "chest X-ray folder {path}", "src_mnist": "PneumoniaMNIST {size}x{size} px from {path}",
    "src_synthetic": "synthetic phantoms (not real X-rays), {size}x{size} px",
    "src_marker": ", a bright corner marker on every PNEUMONIA phantom (planted shortcut)",
    "src_upscaled": ", upscaled to {size} px", "src_official": "official train/val/test splits",
    "src_own_val": "the folder's own val split", "src_pool_train": "train", "src_pool_train_val": "train+val",
    "src_val_patient": "val: {pct} of {pooled}, by patient",
    "src_fraction": "; train fraction {fraction}: {images} of {all_images} images, {patients} of {all_patients} "
                    "patients (seed {seed})",
    "col_degenerate": "warning", "col_preprocess": "resize and crop", "col_weight_decay": "weight decay",
    "augment_jitter": "ColorJitter(brightness {brightness}, contrast {contrast}, saturation {saturation}, hue {hue}) "
                      "on training images",
    "total_time": "All {n} runs took {total} together (each from its start to its test metrics; a frozen run's "
                  "time includes its feature extraction).",
    "task_a_latency_caveat": "Latency was measured while this report was made, under whatever else this machine "
                             "was running: it varies between renders (several-fold on a busy machine), so compare "
                             "the rows of this table, not numbers from different reports.",
    "mode_effect_random": "{backbone}, from random initial weights (no transfer learning): {mode_a} reached {acc_a} "
                          "and {mode_b} {acc_b} test accuracy ({verdict}).",
    "mode_random_finetune": "'fine-tune' (training from scratch)",
    "mode_random_frozen": "'frozen' (a head on a random fixed feature extractor)",
    "mode_random_scratch": "from scratch",
    "fig_loss": "loss", "fig_accuracy": "accuracy", "fig_train": "train", "fig_validation": "validation",
    "fig_epoch": "epoch", "fig_best_epoch": "best epoch ({epoch})", "fig_val_minimum": "validation-loss minimum",
    "fig_run_val": "{run} (val)", "fig_run_train": "{run} (train)", "fig_kind_seeds": "{kind}, mean of {n} seeds",
    "fig_predicted": "predicted", "fig_true": "true", "fig_fpr": "false positive rate (1 - specificity)",
    "fig_tpr": "true positive rate (sensitivity)", "fig_roc": "ROC", "fig_recall": "recall (sensitivity)",
    "fig_precision": "precision", "fig_pr": "precision-recall", "fig_chance": "chance ({p})",
    "fig_perfect": "perfect calibration", "fig_fraction_pos": "fraction PNEUMONIA", "fig_reliability": "reliability",
    "fig_prob_pos": "predicted probability of PNEUMONIA", "fig_images": "images", "fig_ece": "{run} (ECE {ece})",
    "fig_nothing_to_compare": "fewer than two runs: nothing to compare",
    "fig_pvalue_title_patient": "paired p over patients (Holm); * p < {alpha}\nΔ = accuracy row − column (pp)",
    "fig_pvalue_title_image": "paired p over images (Holm); * p < {alpha}\nΔ = accuracy row − column (pp)",
    "fig_split": "split", "fig_pixel_value": "pixel value", "fig_density": "density", "fig_width": "width (px)",
    "fig_height": "height (px)", "fig_aspect": "aspect ratio (width / height)",
    "fig_no_images": "no images", "fig_auc": "AUC", "fig_ap": "AP", "fig_n_seeds": "{n} seeds",
    "data_source": "Data: {source}.",
    "split_sizes": "Images: {train} train, {val} validation (for model selection and thresholds), {test} test "
                   "({test_normal} NORMAL, {test_pneumonia} PNEUMONIA).",
    "weights_imagenet": "The backbones start from ImageNet-pretrained weights (torchvision's).",
    "weights_none": "The backbones were NOT ImageNet-pretrained: every run started from random weights, so "
                    "'fine-tune' and 'frozen' here do not measure transfer learning.",
    "weights_path": "The backbones start from the weights at {path}.",
    "weights_mixed": "Initial weights differ between runs: see the settings table.",
    "scratch_note": "Runs named *-scratch are a control: the same network trained from random weights.",
    "common_settings": "Same for every run: {items}.",
    "generated_note": "Every number in this report is read from the run directories, and every sentence about "
                      "numbers is generated from them.",
    "generated_at": "Generated {date} with cxr-transfer {version}, torch {torch}, on {device}.",
    # headings
    "h_settings": "Settings",
    "h_task_a": "Task A: the two architectures",
    "h_task_bc": "Tasks B and C: training each run",
    "h_task_d": "Task D: comparing the runs",
    "h_task_e": "Task E: test-set results",
    "h_task_e_05": "At threshold 0.5",
    "h_task_e_youden": "At the Youden threshold chosen on validation",
    "h_stats": "Are the differences real? Paired tests",
    "h_gradcam": "Where the networks look: Grad-CAM",
    "h_errors": "Error analysis: the most confident mistakes",
    "h_calibration": "Calibration: do the probabilities mean what they say?",
    "h_findings": "Findings",
    # intros
    "task_a_intro": "Parameters are counted on the 2-class models (trainable: what each mode updates). MACs are "
                    "multiply-accumulates, the 'FLOPs' of the papers, for one {img}x{img} image and for "
                    "224x224. Latency is the median time per image (batch 1, inference) measured on this machine "
                    "({device}); size is the fp32 weights; ImageNet top-1 is torchvision's figure for the "
                    "1000-class model.",
    "task_bc_intro": "Per run: loss and accuracy per epoch on train and validation (the dotted line marks the epoch "
                     "with the lowest validation loss), then the test confusion matrix at threshold 0.5 of the epoch "
                     "evaluated (the settings say which rule chose it).",
    "task_d_intro": "All runs overlaid: training curves per epoch, then ROC and precision-recall curves on the "
                    "test set (the legend quotes the areas in the tables).",
    "task_d_intro_seeds": "All kinds overlaid: training curves per epoch as the mean over seeds (the band spans the "
                          "seeds' range of the validation curve), then ROC curves (mean over seeds, the range as a "
                          "band) and precision-recall curves (one per seed) on the test set; the legend quotes the "
                          "areas of the tables, as mean ± SD over seeds.",
    "first_seed_shown": "Seed {seed} shown, the first of {n}; the seeds section and Task D show them all.",
    "task_e_intro": "Test-set metrics with 95% bootstrap confidence intervals in brackets ({method}). Sensitivity "
                    "is recall of PNEUMONIA, specificity recall of NORMAL.",
    "bootstrap_patient": "patients resampled with replacement within their stratum (all images NORMAL, all "
                         "PNEUMONIA, or, for a patient holding both labels, a stratum of its own): {units} patients, "
                         "{n} resamples",
    "bootstrap_image": "images resampled: {units} images, {n} resamples",
    "unit_patient": "patient", "unit_image": "image",
    "task_e_youden_intro": "The same at each run's Youden threshold (maximal sensitivity + specificity - 1), "
                           "chosen on the validation set, never on the test set, halfway between the best ROC "
                           "point's score and the next lower validation score. HW3 reported no such threshold: "
                           "its row is in the 0.5 table only.",
    "youden_few": "The validation set these thresholds were chosen on holds only {normal} NORMAL and {pneumonia} "
                  "PNEUMONIA images (fewer than {limit} of a class): the thresholds are a noisy choice, and the "
                  "numbers below may not carry over to other data.",
    "reference_note": "reported, not computed here",
    "reference_row": "the earlier homework's model ({name}), {note}",
    "reference_left_out": "The earlier homework's model ({name}: {acc} accuracy, loss {loss}; {note}) is left out of "
                          "the table: it was measured on Kaggle's test set (624 images) at 224 px, and these runs "
                          "differ: {why}.",
    "hw3_dataset": "dataset {datasets}, not Kaggle's chest_xray folder",
    "hw3_test_set": "a test set of {n} images ({normal} NORMAL / {pneumonia} PNEUMONIA), not Kaggle's 624 "
                    "(234 / 390)",
    "hw3_img_size": "image size {sizes} px, not 224",
    "stats_intro": "Pairs of runs on the same {n} test images (threshold 0.5), with the {unit} as the unit: the "
                   "accuracy difference (first minus second run) has a paired bootstrap 95% interval ({method}), "
                   "and the verdict comes from a paired sign-flip permutation test over {unit}s, Holm-corrected "
                   "for the {m} comparisons.",
    "stats_mcnemar": "McNemar's exact test is shown beside it for reference only, raw and Holm-adjusted like the "
                     "paired test (compare raw with raw: Holm multiplies both): it treats every image as an "
                     "independent case, so where a patient has several images its p-values are too small; with one "
                     "image per patient the two raw p-values are equal. The ROC-AUC difference has its own paired "
                     "test ({unit}s resampled; p from the difference over its bootstrap standard error), "
                     "Holm-corrected over the pairs.",
    "stats_mnist": "PneumoniaMNIST publishes no patient ids, so every image counts as its own patient here; its 624 "
                   "test images are known to come from about 427 patients, so these image-level intervals are too "
                   "narrow and the p-values too small. Its validation split is MedMNIST's own, not made by patient.",
    "stats_seeds": "Each kind is represented here by its lowest seed; a difference no larger than the spread "
                   "across seeds (see the seeds section) is not called a win, whatever its p-value.",
    "gradcam_intro": "Grad-CAM of the PNEUMONIA score on the same {n} test images for every run (chosen once from "
                     "all runs' predictions to cover {kinds}). Warm colours raised the PNEUMONIA score. Each title: "
                     "that run's outcome and its probability of PNEUMONIA.",
    # ---- shortcut audit, patient level, leakage (report/shortcut_view.py) ----
    "h_shortcut": "Is it pneumonia the networks see? A shortcut audit",
    "shortcut_region": "x from {left} to {right} of the network input's width, y from {top} to {bottom} of its height",
    "shortcut_intro": "Chest X-ray classifiers are known to learn shortcuts (the hospital, markers and text, "
                      "borders, image size) instead of the disease. Each run's best model sees its test set three "
                      "ways: as is, with the lung region masked, and with everything but the lung region masked. "
                      "The lung region is one fixed rectangle covering both lung fields ({region}); a mask fills "
                      "its part with the mean grey level of the part left visible, so nothing of the hidden part "
                      "leaks back. ROC-AUC with 95% patient-level intervals; the AUC as is comes from the run's "
                      "stored predictions. Grad-CAM mass in the lungs: the share of each test image's Grad-CAM map "
                      "(PNEUMONIA score) inside the region, averaged over a fixed sample of {n_cam} test images; a "
                      "map spread evenly would put {chance} there.",
    "shortcut_rule": "Flag rule: a run that keeps at least {share} of its AUC above chance with the lungs masked, "
                     "(AUC lungs masked - 0.5) / (AUC - 0.5) >= {share}, is flagged as using cues outside the "
                     "lungs. A run whose AUC is below {min_auc} has too little to lose and is not judged.",
    "shortcut_limits": "What the audit cannot tell: a masked image is one the network never saw in training, so "
                       "part of a lost AUC may be that surprise rather than the missing lungs; the rectangle holds "
                       "the heart, mediastinum and ribs as well as the lungs, so cues there go unflagged; and an "
                       "unflagged model may still lean on a shortcut inside the region. Grad-CAM is as coarse as "
                       "the last convolutional layer's grid (at 1 x 1 it gives no map: n/a).",
    "mask_none": "as the network sees it", "mask_lungs": "lung region masked", "mask_outside": "outside masked",
    "col_auc_as_is": "ROC-AUC as is", "col_auc_lungs_masked": "ROC-AUC, lungs masked",
    "col_auc_outside_masked": "ROC-AUC, outside masked", "col_retained": "AUC above chance kept without lungs",
    "col_cam_in_lungs": "Grad-CAM mass in lungs", "col_flag": "flag",
    "flag_yes": "flagged", "flag_no": "no", "not_judged": "not judged",
    "shortcut_flagged": "The shortcut audit flags {n} of {total} runs as using cues outside the lungs (they keep "
                        "most of their AUC with the lungs masked): {runs}.",
    "shortcut_none_flagged": "The shortcut audit flags none of the {total} runs: each loses most of its AUC when "
                             "the lungs are masked, or is too weak to judge.",
    "shortcut_cam": "Grad-CAM puts {lo} to {hi} of its mass in the lung region (an even spread would put {chance}).",
    "h_properties": "Image-property baseline: does the label leak through how the images were made?",
    "properties_folder_only": "Run on the Kaggle folder only: these runs use another source, whose images share one "
                              "size and format.",
    "properties_intro": "A logistic regression (standardised inputs) on properties that are not the disease - "
                        "original width, height, aspect ratio, file size, mean and standard deviation of intensity "
                        "- trained on the {n_train} training images and scored on the {n_test} test images.",
    "properties_leak": "Its test ROC-AUC is {auc} {ci}: the label leaks through image properties, {above} above "
                       "chance, and a network can read them too (the homework's square squash turns the aspect "
                       "ratio into shape).",
    "properties_leak_sizes": "Its test ROC-AUC is {auc} {ci}: the label leaks through image properties, {above} "
                             "above chance, and a network can read them too.",
    "properties_finding": "Image-property baseline (sizes, file size, intensity; not the disease): {sentence}",
    "properties_no_leak": "Its test ROC-AUC is {auc} {ci}: no leak through these properties is shown (the interval "
                          "reaches 0.5).",
    "properties_constant": "{names}: the same on every training image of this copy, so they cannot leak here.",
    "prop_width": "original width", "prop_height": "original height", "prop_aspect_ratio": "aspect ratio (w / h)",
    "prop_file_size": "file size", "prop_mean_intensity": "mean intensity", "prop_std_intensity": "intensity SD",
    "prop_constant": "constant", "prop_higher": "higher", "prop_lower": "lower",
    "col_property": "property", "col_property_auc": "ROC-AUC alone (either direction)",
    "col_direction": "in PNEUMONIA images",
    "h_patient_level": "Patient-level results",
    "patient_level_intro": "Each run's test predictions aggregated per patient: the mean probability of PNEUMONIA "
                           "over the patient's images, called PNEUMONIA at 0.5 (a patient is PNEUMONIA when any of "
                           "its images is labelled so); 95% intervals resample patients within class.",
    "patients_no_patient_ids": "Not offered: PneumoniaMNIST has no patient ids, so each image would be its own "
                               "patient and this table would repeat Task E's.",
    "patients_one_image_per_patient": "Not offered: every test image carries its own patient id, so the patients "
                                      "are unknown and this table would repeat Task E's.",
    "col_patients_images": "patients (images)",
    "h_leakage": "Leakage sensitivity: test patients whose id also occurs in training",
    "leakage_folder_only": "Run on the Kaggle folder only, whose file names carry patient ids that recur across "
                           "splits.",
    "leakage_intro": "Kaggle's personNNN ids recur in train and test; whether the numbering is global (the same "
                     "child) or per split is undocumented. Task E's metrics at 0.5 on the test images whose "
                     "patient id also occurs among the training images and on the others, with 95% patient-level "
                     "intervals. The shared ids are PNEUMONIA images, so the groups are compared within a class: "
                     "sensitivity on shared vs unshared PNEUMONIA images.",
    "leakage_shared": "id also in train", "leakage_unshared": "id not in train",
    "col_group": "test images", "col_images_pneumonia": "images (PNEUMONIA)",
    "leakage_differ": "{run}: sensitivity on shared minus unshared PNEUMONIA images is {diff} (95% interval {ci}): "
                      "they differ, so the shared ids may be the same children.",
    "leakage_same": "{run}: sensitivity on shared minus unshared PNEUMONIA images is {diff} (95% interval {ci}): "
                    "no difference shown.",
    "leakage_no_comparison": "{run}: no class has test images in both groups, so they cannot be compared.",
    "errors_intro": "For each run, the {k} test images it got wrong with the most confidence, with the true class "
                    "and its probability of PNEUMONIA.",
    "calibration_intro": "A calibrated model's predicted probability equals the observed frequency (the diagonal). "
                         "Brier score: mean squared error of the probabilities; ECE: expected calibration error over "
                         "{bins} equal-width bins. Lower is better for both.",
    # findings and sentences
    "best_metric": "Best {metric}: {run} with {value} (95% CI {lo} to {hi}).",
    "best_lowest_loss": "Lowest test loss: {run} with {value} (95% CI {lo} to {hi}).",
    "best_metric_seeds": "Best {metric}: {run} with {value} over {n} seeds.",
    "best_lowest_loss_seeds": "Lowest test loss: {run} with {value} over {n} seeds.",
    "metric_undefined": "{metric} is undefined for every run (one class only in the test set).",
    "lead_exceeds": "Its interval does not overlap that of the runner-up, {run} ({value}, {lo} to {hi}): the lead "
                    "exceeds the test-set sampling uncertainty (one training run each: the spread between seeds "
                    "is not measured).",
    "lead_within_seeds": "Its lead over {run} ({value}) is {lead}, no larger than the spread across seeds (SD up "
                         "to {sd}): not a win.",
    "lead_beyond_seeds": "Its lead over {run} ({value}) is {lead}, larger than the spread across seeds (SD up to "
                         "{sd}), and the 95% test-set intervals do not overlap ({run}: {lo} to {hi}).",
    "lead_beyond_seeds_within_test": "Its lead over {run} ({value}) is {lead}, larger than the spread across seeds "
                                     "(SD up to {sd}) but within the test set's uncertainty (the 95% intervals "
                                     "overlap; {run}: {lo} to {hi}): not shown to be a win.",
    "lead_within": "Its interval overlaps that of the runner-up, {run} ({value}, {lo} to {hi}): the two separate "
                   "intervals cannot tell them apart (a paired test on the same images is sharper).",
    "tie": "{runs} tie on {metric} at {value}.",
    "lead_paired": "On the same images, the paired comparison of {run} and {second}: accuracy difference {diff} "
                   "percentage points (95% CI {lo} to {hi}), paired test {p} (Holm-corrected): {verdict}.",
    "list_sep": ", ",
    "pair_sentence": "{a} vs {b}: accuracy {acc_a} vs {acc_b}, difference {diff} percentage points (95% CI {lo} "
                     "to {hi}); paired test {p} (Holm-corrected): {verdict}.",
    "significant": "significant at 0.05",
    "not_significant": "not significant at 0.05",
    "significant_within_seeds": "significant on these test images, but no larger than the spread across seeds: "
                                "not a win",
    "pair_summary": "{k} of {m} pairwise differences are significant at 0.05 after Holm correction.",
    "pair_summary_seeds": "{w} of these {k} are also larger than the spread across seeds.",
    "one_seed": "Every kind was trained with one seed: these findings do not measure how far a second training "
                "run would move the numbers.",
    "mode_effect": "{backbone}: {mode_a} reached {acc_a} and {mode_b} {acc_b} test accuracy ({verdict}).",
    "reference_compare": "The earlier homework's model ({name}: {ref}, loss {ref_loss}; reported, not computed here) "
                         "is beaten by {above} of {n} runs on accuracy; for {sure} of them the whole 95% interval "
                         "lies above it.",
    "calibration_best": "Best calibrated: {run} (ECE {ece}, Brier {brier}); least: {worst} (ECE {worst_ece}).",
    "youden_shift": "At the Youden thresholds, sensitivity changes by {lo} to {hi} percentage points across runs, "
                    "trading specificity for sensitivity (or back) as the validation set suggests.",
    "one_run": "Only one run: there is nothing to compare it with.",
    "no_mistakes": "{run}: no mistakes on the test set.",
    "fastest": "Fastest at inference on this machine: {backbone} ({ms} ms per image); smallest: {small} ({mb} MB).",
    "squeezenet_head": "SqueezeNet's new head sits where torchvision puts its classifier: Dropout on the feature "
                       "map, a 1x1 convolution to the 2 classes, then global average pooling (no ReLU after the "
                       "convolution, which would clamp the logits).",
    # seeds
    "h_seeds": "Repeats: the spread across seeds",
    "seeds_one": "Each kind was trained once (seed {seeds}), so the spread between training runs is not measured. "
                 "At this data size a second seed can move test accuracy by several points: differences of that "
                 "size may be chance (xray report --seeds 0,1,2 measures it).",
    "seeds_intro": "Runs of one kind that differ only in the seed, at threshold 0.5: mean ± standard deviation over "
                   "the seeds, each seed's value below it (lowest seed first). The findings call no difference a "
                   "win that is no larger than this spread.",
    "col_kind": "kind", "col_seeds": "seeds",
    # settings that change the numbers
    "disclosure_intro": "Settings that change the numbers: every one that differs between runs or from the "
                        "homework, and always the precision, the resize, the epoch evaluated and (frozen runs) the "
                        "feature views, with what each changes.",
    "col_setting": "setting", "col_value": "value", "col_homework": "the homework", "col_differs": "differs",
    "col_effect": "what it changes", "col_speed": "training speed (images / s)",
    "speed_stored_features": "features stored by an earlier run",
    "select_best": "the epoch with the lowest validation loss", "select_last": "the last epoch",
    "views_fresh": "a fresh ColorJitter draw every epoch", "views_stored": "{k} stored augmented view(s) per image",
    "views_no_augment": "no augmentation",
    "world_value": "{n} process(es), SyncBatchNorm {sync}",
    "set_precision": "precision", "set_resize_mode": "resize", "set_select": "epoch evaluated",
    "set_feature_views": "frozen: augmentation of the stored features", "set_world": "data-parallel processes",
    "set_amp": "mixed precision (amp)", "set_class_weights": "class weights", "set_val_split": "validation split",
    "set_val_fraction": "validation share", "set_early_stopping": "early stopping (patience)",
    "set_train_fraction": "share of training images", "set_dataset": "dataset", "set_weights": "initial weights",
    "set_img_size": "image size (crop / resize)", "set_epochs": "epochs", "set_batch_size": "batch size",
    "set_lr": "learning rate", "set_weight_decay": "weight decay", "set_dropout": "dropout",
    "set_optimizer": "optimizer", "set_scheduler": "scheduler", "set_augment": "augmentation (ColorJitter)",
    "set_jitter": "ColorJitter strength", "set_deterministic": "deterministic algorithms", "set_momentum": "momentum",
    "set_step_size": "scheduler step (epochs)", "set_gamma": "scheduler decay", "set_mnist_size": "PneumoniaMNIST size",
    "set_synthetic_train": "synthetic training images", "set_synthetic_test": "synthetic test images",
    "eff_precision": "bf16 or fp16 autocast runs the forward pass in 16-bit floats (weights and optimiser stay "
                     "fp32): several times faster on a CPU with AMX, with small differences in every number "
                     "(benchmarks/README.md measures them).",
    "eff_resize_mode": "square squashes the whole radiograph to R x R, as the homework did; shorter-side keeps the "
                       "aspect ratio, so the centre crop cuts the outer lung fields of a wide image.",
    "eff_select": "The homework evaluated the model after its last epoch; evaluating the epoch with the lowest "
                  "validation loss picks the checkpoint on the validation set, and test numbers swing by several "
                  "points from epoch to epoch at this data size.",
    "eff_feature_views": "The frozen head trains on stored features of each training image (computed once, with "
                         "the given number of ColorJitter views), while the homework draws a fresh ColorJitter "
                         "every epoch: less augmentation variety, many times faster.",
    "eff_world": "Data-parallel training over several processes; with SyncBatchNorm the BatchNorm statistics "
                 "cover the global batch, so the run means what it would on one process.",
    "eff_amp": "Whether mixed precision may be used (auto: where the hardware has it); the precision row says "
               "what was computed.",
    "eff_class_weights": "The loss weights each class by its inverse frequency, which moves the balance between "
                         "sensitivity and specificity.",
    "eff_val_split": "patient: the validation images are carved out of the training images by patient; given: the "
                     "data's own validation folder (16 images in Kaggle's). It decides the epoch evaluated and the "
                     "Youden threshold.",
    "eff_val_fraction": "The share of training patients held out for validation: fewer training images, a steadier "
                        "choice of epoch and threshold.",
    "eff_early_stopping": "Training stops after this many epochs without a lower validation loss, so runs may "
                          "train fewer epochs than set.",
    "eff_train_fraction": "Runs on a share of the training patients are learning-curve runs: they appear only in "
                          "the learning-curve section, never in Tasks B to E.",
    "eff_dataset": "A different image source: the numbers say nothing about the Kaggle chest X-rays the homework "
                   "used.",
    "eff_weights": "The starting weights decide what transfer learning can transfer: random weights measure "
                   "training from scratch.",
    "eff_img_size": "Smaller images are faster and lose detail; every number depends on it.",
    "eff_epochs": "More or fewer passes over the training images than the homework's.",
    "eff_batch_size": "Images per optimiser step: changes the noise of each step and the BatchNorm statistics.",
    "eff_lr": "The optimiser's step size.",
    "eff_weight_decay": "The strength of the L2 penalty on the weights.",
    "eff_dropout": "The share of the head's inputs dropped while training: a regulariser.",
    "eff_optimizer": "A different optimiser from the homework's AdamW.",
    "eff_scheduler": "The learning rate changes over the epochs instead of staying constant.",
    "eff_augment": "Without ColorJitter every epoch sees the same pixels: more overfitting.",
    "eff_jitter": "How strongly ColorJitter varies brightness, contrast, saturation and hue.",
    "eff_deterministic": "Non-deterministic GPU kernels: a rerun gives slightly different numbers.",
    "eff_momentum": "SGD's momentum.",
    "eff_step_size": "Epochs between learning-rate decays.",
    "eff_gamma": "The factor of each learning-rate decay.",
    "eff_mnist_size": "The resolution of the PneumoniaMNIST images before resizing.",
    "eff_synthetic_train": "The number of generated training images.",
    "eff_synthetic_test": "The number of generated test images.",
    "set_synthetic_shortcut": "planted shortcut (synthetic)",
    "eff_synthetic_shortcut": "A bright corner marker on every PNEUMONIA phantom, in train and test: a shortcut the "
                              "network can learn instead of the lungs (the shortcut audit must find it).",
    "eff_other": "A training setting that differs from the homework's (see RunConfig in xray_utils/config.py).",
    # table labels
    "col_run": "run", "col_backbone": "backbone", "col_mode": "mode", "col_weights": "initial weights",
    "col_dataset": "dataset", "col_img_size": "image size (crop / resize)", "col_epochs": "epochs (evaluated)",
    "col_batch": "batch", "col_lr": "learning rate", "col_optimizer": "optimizer", "col_scheduler": "scheduler",
    "col_augment": "augmentation", "col_dropout": "dropout", "col_seed": "seed",
    "col_train_time": "training time (frozen: with feature extraction)", "col_n": "images (train / val / test)",
    "col_params": "parameters", "col_trainable": "trainable ({mode})", "col_head": "new head",
    "col_macs": "MACs ({img} px)", "col_macs_224": "MACs (224 px)", "col_latency": "latency (ms / image)",
    "col_size": "size (MB)", "col_top1": "ImageNet top-1",
    "col_threshold": "threshold", "col_brier": "Brier score", "col_ece": "ECE",
    "col_pair": "pair", "col_diff": "accuracy difference (pp)", "col_p_mcnemar": "McNemar p (independent images)",
    "col_p_holm": "paired sign-flip p: raw / Holm", "col_p_mcnemar_both": "McNemar p: raw / Holm",
    "col_auc_diff": "ROC-AUC difference", "col_p_auc": "ROC-AUC p: raw / Holm",
    "col_verdict": "at 0.05",
    "metric_accuracy": "accuracy", "metric_loss": "loss", "metric_sensitivity": "sensitivity",
    "metric_specificity": "specificity", "metric_precision": "precision", "metric_npv": "NPV", "metric_f1": "F1",
    "metric_roc_auc": "ROC-AUC", "metric_pr_auc": "PR-AUC", "metric_brier": "Brier score",
    "mode_finetune": "fine-tune", "mode_frozen": "frozen", "mode_scratch": "from scratch",
    "weights_imagenet_short": "ImageNet", "weights_none_short": "random (none)",
    "yes": "yes", "no": "no",
    # figure labels
    "kind_tp": "true positive", "kind_fp": "false positive", "kind_fn": "false negative", "kind_tn": "true negative",
    "kind_tp_short": "TP", "kind_fp_short": "FP", "kind_fn_short": "FN", "kind_tn_short": "TN",
    "true_label": "true {label}", "p_label": "P(pneumonia) {p}",
    # data exploration (00: its headings are the notebook's markdown)
    "col_split": "split", "col_images": "images", "col_patients": "patients", "col_share": "PNEUMONIA share",
    "leak_none": "No patient id appears in more than one split.",
    "leak_found": "{n} patient id(s) appear in more than one split: {pairs}.",
    "leak_caveat": "The ids come from the file names, and Kaggle's personNNN numbering may be per split: a shared "
                   "id need not be the same person, and distinct ids cannot prove that no person is in two splits.",
    "skipped_images": "Skipped (unreadable): {n}: {files}.",
    "samples_note": "The first {n} training images of each class, with their file ids.",
    "intensities_note": "Pixel values of up to {n} training images per class, evenly spaced.",
    "check_ok": "The data check (identical images by content, unreadable or stray files) found no problems.",
    "check_problems": "The data check (identical images by content, unreadable or stray files) found:",
    "sizes_sampled": "Original sizes of {n} images (at most {per_split} per split, evenly spaced).",
    # run notebooks (01/02)
    "h_run_summary": "Test metrics of this run",
    # overfitting, measured (report/overfitting_view.py)
    "h_overfitting": "Overfitting, measured from the training curves",
    "of_rule": "The rule: a run overfits when its validation loss over the last {window} epochs (all epochs after its "
               "minimum, if fewer; at least {min_after}) averages {mild}% or more above its minimum, and the rise is "
               "larger than the validation loss's own noise ({ses} patient-level standard errors of it, from "
               "val_predictions.csv, and at least {min_abs}), while its training loss keeps falling; strongly from "
               "{strong}%. A star on the training curves marks each run's validation-loss minimum.",
    "of_caveat": "Training loss and accuracy are running means over each epoch, with augmentation and dropout on; "
                 "validation is measured after the epoch without them. The gaps below (loss: validation minus "
                 "training; accuracy: training minus validation) therefore understate overfitting early in training.",
    "col_of_min": "validation-loss minimum (epoch)", "col_of_rise": "rise after it",
    "col_of_train": "training loss since", "col_of_gap_selected": "gap at evaluated epoch: loss / accuracy",
    "col_of_gap_last": "gap at last epoch: loss / accuracy", "col_of_test": "accuracy: train / test",
    "col_of_grade": "overfitting",
    "grade_none": "none", "grade_mild": "mild", "grade_strong": "strong", "grade_na": "too few epochs",
    "of_improving": "{run}: validation loss was lowest at the last epoch ({epoch}, {value}): no sign of overfitting.",
    "of_flat": "{run}: validation loss bottomed out at epoch {epoch} of {epochs} ({value}); the last {window} epoch(s) "
               "averaged {rise_pct} above it, under the rule's {mild}%: no overfitting.",
    "of_rising": "{run}: validation loss bottomed out at epoch {epoch} of {epochs} ({value}); the last {window} epochs "
                 "averaged {rise} ({rise_pct}) above it while training loss fell by {train_fall}: {grade} overfitting.",
    "of_noise": "{run}: validation loss bottomed out at epoch {epoch} of {epochs} ({value}); the last {window} "
                "epoch(s) "
                "averaged {rise_pct} above it, but only {rise} in absolute terms, within its noise ({noise}): no "
                "overfitting.",
    "of_unstable": "{run}: validation loss rose {rise_pct} above its minimum (epoch {epoch}), but training loss did "
                   "not fall either ({train_change}): unstable training rather than overfitting.",
    "of_too_short": "{run}: {epochs} epoch(s), {after} after the validation-loss minimum: too few to tell whether it "
                    "overfits.",
    "of_gap": "At the evaluated epoch ({epoch}) training accuracy was {train}, validation {val}, test {test}.",
    "of_seeds": "{run}, {n} seeds: overfits in {k} of {n} (strong in {strong}, mild in {mild}); validation loss "
                "bottomed out at epoch {epoch} and the last epochs averaged {rise_pct} above it; training minus test "
                "accuracy {gap} (mean ± SD across seeds).",
    "of_seeds_unknown": "{k} of them had too few epochs to tell.",
    "of_summary": "By this rule, {k} of {n} runs overfit: {runs}.",
    "of_summary_none": "By this rule, none of the {n} runs overfits.",
    # the homework's claims (report/claims_view.py)
    "h_claims": "The homework's claims",
    "cl_intro": "Each conclusion of the seed report, tested on these runs. Verdicts: supported (the data show it "
                "beyond "
                "their uncertainty), not supported (the data show the opposite, or the effect the claim needs is "
                "absent), inconclusive (the differences stay within the uncertainty), not tested (these runs cannot "
                "test it; what would is named). Accuracy differences come from the paired patient-level test "
                "(Holm-corrected, significant below {alpha}; with several seeds the means across seeds must point "
                "the same way); overfitting from the rule of the overfitting section; \"stable\" means no run "
                "overfits by that rule and validation accuracy over the last {window} epochs (and test accuracy "
                "across seeds) varies by at most {limit} (SD); HW3's {ref} is taken as reported, without an "
                "interval, and compared only on the Kaggle test folder at 224 px.",
    "cl_scratch": "These runs started from random weights: the verdicts are about training from scratch, not about "
                  "transfer from ImageNet.",
    "cl_scratch_short": "(Random initial weights: about training from scratch, not transfer.)",
    "col_cl_claim": "claim", "col_cl_verdict": "verdict", "col_cl_evidence": "evidence",
    "cl_verdict_supported": "supported", "cl_verdict_not_supported": "not supported",
    "cl_verdict_inconclusive": "inconclusive", "cl_verdict_not_tested": "not tested",
    "claim_resnet18_finetune_overfits": "ResNet18 fine-tuning overfits, even with lr 1e-4, weight decay 0.002 and "
                                        "Dropout 0.5.",
    "claim_squeezenet_finetune_stable": "SqueezeNet fine-tuning is less accurate than ResNet18, but stable.",
    "claim_frozen_less_overfitting": "A frozen backbone (feature extractor) avoids the overfitting of fine-tuning.",
    "claim_frozen_lower_accuracy": "But a frozen backbone reaches lower accuracy than fine-tuning.",
    "claim_resnet18_finetune_best": "Fine-tuned ResNet18 has the best test accuracy of the four.",
    "claim_squeezenet_adapts_small_data": "SqueezeNet adapts better to little data; ResNet18 would win with more.",
    "claim_squeezenet_not_below_hw3": "SqueezeNet's test accuracy is not below HW3's 83.93%.",
    "claim_short_resnet18_finetune_overfits": "ResNet18 fine-tuning overfits",
    "claim_short_squeezenet_finetune_stable": "SqueezeNet fine-tuning less accurate but stable",
    "claim_short_frozen_less_overfitting": "frozen avoids overfitting",
    "claim_short_frozen_lower_accuracy": "frozen less accurate",
    "claim_short_resnet18_finetune_best": "fine-tuned ResNet18 best",
    "claim_short_squeezenet_adapts_small_data": "SqueezeNet better with little data",
    "claim_short_squeezenet_not_below_hw3": "SqueezeNet not below HW3",
    "cl_summary": "The homework's claims, tested ({n}): {supported} supported, {not_supported} not supported, "
                  "{inconclusive} inconclusive, {not_tested} not tested; supported: {which}.",
    "cl_none": "none",
    "cl_sep": "; ",
    "cl_pair": "{a} minus {b} {diff} [{lo}, {hi}], {p} (Holm)",
    "cl_graded_run": "{run}: {grade} (validation loss {rise} above its minimum, noise bar {noise})",
    "cl_ev_overfits": "{runs}; {k} of {n} graded run(s) overfit by the rule.",
    "cl_other_settings": "These runs used lr {lr}, weight decay {wd}, Dropout {dropout}, not the claim's 1e-4, "
                         "0.002, 0.5.",
    "cl_ev_stable": "Accuracy: {pair}: {accuracy}. Stability: {stable}; validation accuracy SD over the last {window} "
                    "epochs {sds} (limit {limit}); overfitting grade(s) {grades}.",
    "cl_acc_a": "{a} more accurate", "cl_acc_b": "{b} more accurate",
    "cl_acc_tie": "no difference beyond the uncertainty",
    "cl_stable_yes": "stable", "cl_stable_no": "not stable", "cl_stable_unknown": "too few epochs to tell",
    "cl_seed_sd": "Test accuracy across seeds: SD {sd}.",
    "cl_ev_frozen_overfit": "{backbone}: {k_frozen} of {n_frozen} frozen vs {k_finetune} of {n_finetune} fine-tuned "
                            "run(s) overfit",
    "cl_ev_best": "Test accuracy (mean over seeds): {accuracy}. Paired tests: {pairs}.",
    "cl_ev_learning": "{small} vs {deep}: with {n1} training images {a1} vs {b1}, with {n2} {a2} vs {b2}: {state}",
    "cl_ev_hw3": "{run}: test accuracy {acc} (95% interval {lo} to {hi}) vs HW3's {ref} as reported.",
    "cl_needs_resnet18_finetune": "needs a fine-tuned ResNet18 run and another kind (xray report --backbones "
                                  "resnet18,squeezenet1_1 --modes finetune,frozen).",
    "cl_needs_epochs": "needs more epochs after the validation-loss minimum (e.g. --epochs 10).",
    "cl_needs_both_finetune": "needs fine-tuned ResNet18 and SqueezeNet runs (--backbones resnet18,squeezenet1_1 "
                              "--modes finetune).",
    "cl_needs_both_modes": "needs frozen and fine-tuned runs of one backbone (--modes finetune,frozen).",
    "cl_needs_fractions": "needs several training-set sizes: run with --fractions 0.1,0.25,0.5,1.",
    "cl_needs_squeezenet_finetune": "needs a fine-tuned SqueezeNet run (--backbones squeezenet1_1 --modes finetune).",
    "cl_needs_kaggle_224": "needs Kaggle's chest_xray test folder (234 NORMAL, 390 PNEUMONIA) at 224 px "
                           "(--dataset folder --img-size 224), where HW3's 83.93% was measured.",
    # learning curves (report/learning_view.py)
    "h_learning": "Learning curves: does the amount of training data change the ranking?",
    "lc_intro": "Every run kind was trained on {fractions} of the training images (whole patients, both classes kept; "
                "validation and test unchanged). Lines join the means over seeds; error bars are the 95% bootstrap "
                "intervals; with several seeds the band is mean ± SD and the dots are the seeds. Two kinds differ "
                "beyond the uncertainty only where their intervals (the wider of the bootstrap interval and "
                "mean ± SD) do not overlap.",
    "lc_one_size": "Every run used the same training-set size ({n} images), so there is no learning curve: "
                   "`xray report --fractions 0.1,0.25,0.5,1` also trains each run kind on those shares of the "
                   "training set.",
    "lc_axis": "training images (log scale)",
    "lc_at_smallest": "{metric} with the fewest training images ({n}): {a} {va} vs {b} {vb}: {verdict}.",
    "lc_at_full": "{metric} with the most training images ({n}): {a} {va} vs {b} {vb}: {verdict}.",
    "lc_ahead": "{run} ahead beyond the uncertainty",
    "lc_no_diff": "no difference beyond the uncertainty",
    "lc_cross_real": "The {metric} lines cross beyond the uncertainty: {first} leads at {n1} images, {second} at {n2}.",
    "lc_cross_nominal": "The {metric} means change order between {n1} and {n2} images, but within the uncertainty.",
    "lc_no_cross": "The {metric} lines of {a} and {b} do not cross.",
    "lc_claim_backbone": "The homework's claim that with little data {small} adapts better and with more data {deep}'s "
                         "depth wins ({mode}, {metric}): {verdict}. {deep} minus {small}: {d_small} with {n_small} "
                         "images, {d_full} with {n_full}; the full training set is the most this data can test, so "
                         "'much more data' can only be judged by this trend.",
    "lc_claim_frozen": "{backbone}, frozen vs fine-tuned with the most training images ({n}): test accuracy "
                       "{acc_frozen} vs {acc_tuned}, {accuracy}; by the overfitting rule {k_frozen} of {n_frozen} "
                       "frozen and {k_tuned} of {n_tuned} fine-tuned runs overfit. The homework's claim that the "
                       "frozen extractor avoids overfitting but reaches lower accuracy: {verdict}.",
    "lc_acc_lower": "lower beyond the uncertainty", "lc_acc_tie": "no difference beyond the uncertainty",
    "lc_acc_higher": "higher beyond the uncertainty",
    "lc_verdict_holds": "holds on this data", "lc_verdict_partly": "holds only in part",
    "lc_verdict_not_supported": "not supported by this data",
    "lc_verdict_contradicted": "contradicted (the order is reversed beyond the uncertainty)",
}
