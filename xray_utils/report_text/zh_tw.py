"""The report's Traditional Chinese texts, key for key the English ones, and Task A's descriptions."""

ZH_TW = {
    "title": "遷移學習於兒童胸部 X 光：正常（NORMAL）與肺炎（PNEUMONIA）分類",
    "subtitle": "ResNet18 與 SqueezeNet：微調與凍結特徵擷取器",
    "synthetic_banner": "合成資料。本報告使用程式產生的模擬影像，而非真實胸部 X 光；其中的數字與肺炎無關，"
                        "只用來證明整個流程可以正常運作。",
    # banners and figure labels (report/banners.py, plots.py)
    "random_weights_banner": "隨機權重，不是遷移學習。以下在真實 X 光上的執行從隨機權重開始，"
                             "而非 ImageNet 預訓練權重：{runs}。其「微調」其實是從頭訓練，"
                             "「凍結」則是在隨機且固定的特徵擷取器上只訓練分類頭；"
                             "這些數字與遷移學習的效果無關。",
    "degenerate_banner": "退化的執行：{runs} 在門檻值 0.5 時只預測單一類別，或對測試影像的排序不如隨機。"
                         "其準確率、敏感度與特異度描述的是固定或反向的分類器，"
                         "而非學到的模型（任務 E 中已標出）。",
    "degenerate_run": "{run} 為退化的執行：{why}。",
    "degenerate_single_class": "在門檻值 0.5 時只預測單一類別（敏感度或特異度為 0%）",
    "degenerate_below_chance": "排序不如隨機（ROC-AUC 低於 0.5，整個 95% 信賴區間亦然）",
    "degenerate_short_single_class": "0.5 時只預測單一類別", "degenerate_short_below_chance": "不如隨機",
    "src_folder": "胸部 X 光資料夾 {path}", "src_mnist": "PneumoniaMNIST {size}x{size} px，來自 {path}",
    "src_synthetic": "合成模擬影像（不是真實 X 光），{size}x{size} px",
    "src_marker": "，每張 PNEUMONIA 模擬影像角落都有亮點標記（刻意植入的捷徑）",
    "src_upscaled": "，放大至 {size} px", "src_official": "官方的訓練 / 驗證 / 測試分割",
    "src_own_val": "資料夾本身的 val 分割", "src_pool_train": "訓練集", "src_pool_train_val": "訓練集 + 驗證集",
    "src_val_patient": "驗證集：{pooled} 的 {pct}，依病患切分",
    "src_fraction": "；訓練比例 {fraction}：{all_images} 張中的 {images} 張影像、"
                    "{all_patients} 位病患中的 {patients} 位（亂數種子 {seed}）",
    "col_degenerate": "警示", "col_preprocess": "縮放與裁切", "col_weight_decay": "權重衰減",
    "augment_jitter": "ColorJitter（亮度 {brightness}、對比 {contrast}、飽和度 {saturation}、色相 {hue}），"
                      "僅用於訓練影像",
    "total_time": "全部 {n} 次執行合計 {total}（每次從開始到算出測試指標；凍結執行包含特徵擷取時間）。",
    "task_a_latency_caveat": "延遲是在產生本報告時、於本機當下的負載下量測：每次產生報告都可能不同"
                             "（機器忙碌時可差數倍），因此請比較同一表格中的各列，而非不同報告間的數字。",
    "mode_effect_random": "{backbone}，從隨機初始權重開始（並非遷移學習）：{mode_a}的測試準確率為 {acc_a}，"
                          "{mode_b}為 {acc_b}（{verdict}）。",
    "mode_random_finetune": "「微調」（即從頭訓練）",
    "mode_random_frozen": "「凍結」（在隨機且固定的特徵擷取器上訓練分類頭）",
    "mode_random_scratch": "從頭訓練",
    "fig_loss": "損失", "fig_accuracy": "準確率", "fig_train": "訓練", "fig_validation": "驗證",
    "fig_epoch": "訓練輪次（epoch）", "fig_best_epoch": "最佳輪次（第 {epoch} 輪）",
    "fig_val_minimum": "驗證損失最小值",
    "fig_run_val": "{run}（驗證）", "fig_run_train": "{run}（訓練）",
    "fig_kind_seeds": "{kind}，{n} 個亂數種子的平均",
    "fig_predicted": "預測", "fig_true": "真實", "fig_fpr": "偽陽性率（1 - 特異度）",
    "fig_tpr": "真陽性率（敏感度）", "fig_roc": "ROC", "fig_recall": "召回率（敏感度）",
    "fig_precision": "精確度", "fig_pr": "精確度-召回率", "fig_chance": "隨機（{p}）",
    "fig_perfect": "完美校準", "fig_fraction_pos": "PNEUMONIA 比例", "fig_reliability": "可靠度圖",
    "fig_prob_pos": "預測為 PNEUMONIA 的機率", "fig_images": "影像數", "fig_ece": "{run}（ECE {ece}）",
    "fig_nothing_to_compare": "執行少於兩次：無從比較",
    "fig_pvalue_title_patient": "以病患為單位的成對 p 值（Holm）；* p < {alpha}\nΔ = 準確率（列 − 行，百分點）",
    "fig_pvalue_title_image": "以影像為單位的成對 p 值（Holm）；* p < {alpha}\nΔ = 準確率（列 − 行，百分點）",
    "fig_split": "資料分割", "fig_pixel_value": "像素值", "fig_density": "密度", "fig_width": "寬度（px）",
    "fig_height": "高度（px）", "fig_aspect": "長寬比（寬 / 高）",
    "fig_no_images": "沒有影像", "fig_auc": "AUC", "fig_ap": "AP", "fig_n_seeds": "{n} 個亂數種子",
    "data_source": "資料：{source}。",
    "split_sizes": "影像數：訓練 {train} 張、驗證 {val} 張（用於選擇模型與門檻值）、測試 {test} 張"
                   "（NORMAL {test_normal} 張、PNEUMONIA {test_pneumonia} 張）。",
    "weights_imagenet": "骨幹網路以 ImageNet 預訓練權重（torchvision 提供）初始化。",
    "weights_none": "骨幹網路並未使用 ImageNet 預訓練權重：每次執行都從隨機權重開始，因此此處的「微調」與「凍結」"
                    "並不能衡量遷移學習的效果。",
    "weights_path": "骨幹網路以 {path} 中的權重初始化。",
    "weights_mixed": "各次執行的初始權重不同，請見設定表。",
    "scratch_note": "名稱為 *-scratch 的執行是對照組：相同網路從隨機權重開始訓練。",
    "common_settings": "所有執行相同的設定：{items}。",
    "generated_note": "本報告中的每個數字皆讀取自執行目錄，每一句關於數字的敘述也都由這些數字自動產生。",
    "generated_at": "產生於 {date}，cxr-transfer {version}、torch {torch}，裝置：{device}。",
    "h_settings": "設定",
    "h_task_a": "任務 A：兩種網路架構",
    "h_task_bc": "任務 B 與 C：各次執行的訓練過程",
    "h_task_d": "任務 D：比較各次執行",
    "h_task_e": "任務 E：測試集結果",
    "h_task_e_05": "門檻值 0.5",
    "h_task_e_youden": "以驗證集選出的 Youden 門檻值",
    "h_stats": "差異是真的嗎？成對檢定",
    "h_gradcam": "網路在看哪裡：Grad-CAM",
    "h_errors": "錯誤分析：最有把握的錯誤",
    "h_calibration": "校準：預測機率是否名副其實？",
    "h_findings": "結論",
    "task_a_intro": "參數量以二分類模型計算（可訓練參數：各模式實際更新的部分）。MACs 為乘加運算次數，即論文中所稱的"
                    "「FLOPs」，分別以一張 {img}x{img} 與 224x224 影像計算。延遲為本機（{device}）上每張影像推論時間的"
                    "中位數（批次大小 1）；大小為 fp32 權重；ImageNet top-1 為 torchvision 公布的 1000 類模型準確率。",
    "task_bc_intro": "每次執行：訓練集與驗證集每個 epoch 的損失與準確率（虛線標出驗證損失最低的 epoch），"
                     "接著是所評估 epoch 在門檻值 0.5 時的測試集混淆矩陣（選擇規則見設定）。",
    "task_d_intro": "所有執行疊合比較：每個 epoch 的訓練曲線，以及測試集上的 ROC 與精確度-召回率曲線（圖例中的曲線下面"
                    "積與表格相同）。",
    "task_d_intro_seeds": "所有類型疊合比較：每個 epoch 的訓練曲線為各亂數種子的平均（色帶為驗證曲線在各種子間的範圍）"
                          "，"
                          "接著是測試集上的 ROC 曲線（各種子平均，色帶為範圍）與精確度-召回率曲線（每個種子一條）；"
                          "圖例引用表格中的曲線下面積，以各種子的平均 ± 標準差表示。",
    "first_seed_shown": "此處顯示亂數種子 {seed}（共 {n} 個中的第一個）；亂數種子一節與任務 D 顯示全部種子。",
    "task_e_intro": "測試集指標，括號內為 95% bootstrap 信賴區間（{method}）。"
                    "敏感度為 PNEUMONIA 的召回率，特異度為 NORMAL 的召回率。",
    "bootstrap_patient": "在各層內對病患有放回重抽樣（全為 NORMAL、全為 PNEUMONIA，或同時具有兩種標籤的病患自成一層）："
                         "{units} 位病患，{n} 次重抽樣",
    "bootstrap_image": "對影像重抽樣：{units} 張影像，{n} 次重抽樣",
    "unit_patient": "病患", "unit_image": "影像",
    "task_e_youden_intro": "相同指標，改用各執行的 Youden 門檻值（使敏感度 + 特異度 - 1 最大），"
                           "此門檻值在驗證集上選出，從未使用測試集，取最佳 ROC 點的分數與下一個較低驗證分數的中點。"
                           "HW3 未報告此門檻值：其列只出現在 0.5 的表格中。",
    "youden_few": "選出這些門檻值的驗證集只有 {normal} 張 NORMAL 與 {pneumonia} 張 PNEUMONIA 影像（某一類少於 {limit} "
                  "張）："
                  "門檻值的選擇雜訊大，以下數字未必適用於其他資料。",
    "reference_note": "為報告值，非本專案計算",
    "reference_row": "先前作業的模型（{name}），{note}",
    "reference_left_out": "先前作業的模型（{name}：準確率 {acc}，損失 {loss}；{note}）未列入表格：它是在 Kaggle 測試集"
                          "（624 張影像）上以 "
                          "224 px 測得，而這些執行的條件不同：{why}。",
    "hw3_dataset": "資料集為 {datasets}，而非 Kaggle 的 chest_xray 資料夾",
    "hw3_test_set": "測試集為 {n} 張影像（NORMAL {normal} 張 / PNEUMONIA {pneumonia} 張），而非 Kaggle 的 624 張"
                    "（234 / 390）",
    "hw3_img_size": "影像大小為 {sizes} px，而非 224",
    "stats_intro": "在相同 {n} 張測試影像上成對比較各次執行（門檻值 0.5），以{unit}為單位：準確率差異（前者減後者）附成"
                   "對 "
                   "bootstrap 95% 信賴區間（{method}），判定則來自以{unit}為單位的成對符號翻轉置換檢定，"
                   "並針對 {m} 組比較做 Holm 校正。",
    "stats_mcnemar": "旁列的 McNemar 精確檢定僅供參考，與成對檢定一樣列出原始與 Holm 校正的 p 值（請原始對原始比較："
                     "Holm 對兩者都會放大）：它把每張影像視為獨立個案，因此當一位病患有多張影像時，其 p 值會偏小；"
                     "每位病患"
                     "只有一張影像時，兩者的原始 p 值相同。ROC-AUC 的差異另有成對檢定（對{unit}重抽樣；p 值由差異除以其"
                     "bootstrap 標準誤而得），並對各組比較做 Holm 校正。",
    "stats_mnist": "PneumoniaMNIST 未公布病患編號，因此此處每張影像都視為一位病患；已知其 624 張測試影像約來自 427 位"
                   "病患，所以這些以影像為單位的區間過窄、p 值過小。其驗證集是 MedMNIST 原有的切分，並非依病患切分。",
    "stats_seeds": "此處每種類型以其最小的亂數種子代表；差異若不大於各種子間的離散程度（見亂數種子一節），"
                   "無論 p 值為何都不算勝出。",
    "gradcam_intro": "每次執行在相同 {n} 張測試影像上 PNEUMONIA 分數的 Grad-CAM（由所有執行的預測一次選出，涵蓋{kinds}"
                     "）。"
                     "暖色區域提高了 PNEUMONIA 分數。每個標題：該執行的結果與其預測為 PNEUMONIA 的機率。",
    # ---- shortcut audit, patient level, leakage (report/shortcut_view.py) ----
    "h_shortcut": "網路看到的是肺炎嗎？捷徑稽核",
    "shortcut_region": "x 為網路輸入寬度的 {left} 至 {right}，y 為高度的 {top} 至 {bottom}",
    "shortcut_intro": "胸部 X 光分類器常學到捷徑（醫院、標記與文字、邊框、影像尺寸）而非疾病本身。"
                      "每次執行的最佳模型以三種方式看測試集：原樣、遮住肺部區域、遮住肺部區域以外的一切。"
                      "肺部區域是一個涵蓋兩側肺野的固定矩形（{region}）；遮罩以仍可見部分的平均灰階填滿，"
                      "被遮住部分的資訊不會漏回。ROC-AUC 附以病人為單位的 95% 信賴區間；原樣的 AUC 取自"
                      "該執行已存的預測。肺部 Grad-CAM 質量：每張測試影像的 Grad-CAM 圖（PNEUMONIA 分數）"
                      "落在該區域內的比例，對固定抽樣的 {n_cam} 張測試影像取平均；均勻分布的圖會有 {chance} "
                      "落在其中。",
    "shortcut_rule": "標記規則：遮住肺部後仍保有至少 {share} 高於機率水準之 AUC 的執行，即"
                     "（遮住肺部的 AUC - 0.5）/（AUC - 0.5）>= {share}，標記為使用肺部以外的線索。"
                     "AUC 低於 {min_auc} 的執行可失去的太少，不予判定。",
    "shortcut_limits": "稽核無法告訴你的：遮罩後的影像是網路訓練時從未見過的，因此 AUC 的下降可能部分來自這種意外，"
                       "而非缺少肺部；矩形除肺部外也包含心臟、縱膈與肋骨，那裡的線索不會被標記；"
                       "未被標記的模型仍可能依賴區域內的捷徑。Grad-CAM 的粗細等於最後一個卷積層的網格"
                       "（1 x 1 時無法產生圖：n/a）。",
    "mask_none": "網路所見原樣", "mask_lungs": "遮住肺部區域", "mask_outside": "遮住區域以外",
    "col_auc_as_is": "原樣 ROC-AUC", "col_auc_lungs_masked": "ROC-AUC（遮住肺部）",
    "col_auc_outside_masked": "ROC-AUC（遮住區域外）", "col_retained": "無肺部時保留的高於機率 AUC",
    "col_cam_in_lungs": "肺部 Grad-CAM 質量", "col_flag": "標記",
    "flag_yes": "已標記", "flag_no": "否", "not_judged": "不予判定",
    "shortcut_flagged": "捷徑稽核將 {total} 次執行中的 {n} 次標記為使用肺部以外的線索"
                        "（遮住肺部後仍保有大部分 AUC）：{runs}。",
    "shortcut_none_flagged": "捷徑稽核未標記 {total} 次執行中的任何一次：遮住肺部後每次執行都失去大部分 AUC，"
                             "或弱到無法判定。",
    "shortcut_cam": "Grad-CAM 將其質量的 {lo} 至 {hi} 放在肺部區域（均勻分布為 {chance}）。",
    "h_properties": "影像屬性基準：標籤是否經由影像的製作方式洩漏？",
    "properties_folder_only": "僅在 Kaggle 資料夾上執行：這些執行使用其他來源，其影像尺寸與格式皆相同。",
    "properties_intro": "以非疾病的屬性（原始寬度、高度、長寬比、檔案大小、強度平均值與標準差）做邏輯斯迴歸"
                        "（輸入標準化），以 {n_train} 張訓練影像訓練，在 {n_test} 張測試影像上評分。",
    "properties_leak": "其測試 ROC-AUC 為 {auc} {ci}：標籤經由影像屬性洩漏，高於機率水準 {above}，"
                       "網路也讀得到（作業的正方形壓縮把長寬比變成了形狀）。",
    "properties_leak_sizes": "其測試 ROC-AUC 為 {auc} {ci}：標籤經由影像屬性洩漏，高於機率水準 {above}，網路也讀得到。",
    "properties_finding": "影像屬性基準（尺寸、檔案大小、強度；非疾病）：{sentence}",
    "properties_no_leak": "其測試 ROC-AUC 為 {auc} {ci}：未顯示經由這些屬性的洩漏（區間涵蓋 0.5）。",
    "properties_constant": "{names}：在此份資料的每張訓練影像上皆相同，因此在這裡無法洩漏。",
    "prop_width": "原始寬度", "prop_height": "原始高度", "prop_aspect_ratio": "長寬比（寬 / 高）",
    "prop_file_size": "檔案大小", "prop_mean_intensity": "強度平均值", "prop_std_intensity": "強度標準差",
    "prop_constant": "常數", "prop_higher": "較高", "prop_lower": "較低",
    "col_property": "屬性", "col_property_auc": "單獨的 ROC-AUC（任一方向）",
    "col_direction": "在 PNEUMONIA 影像中",
    "h_patient_level": "病人層級結果",
    "patient_level_intro": "每次執行的測試預測依病人彙總：該病人各影像預測為 PNEUMONIA 的平均機率，"
                           "以 0.5 判為 PNEUMONIA（任一影像標為 PNEUMONIA 的病人即為 PNEUMONIA）；"
                           "95% 信賴區間在類別內重抽病人。",
    "patients_no_patient_ids": "不提供：PneumoniaMNIST 沒有病人編號，每張影像會是自己的病人，"
                               "此表只會重複任務 E 的表。",
    "patients_one_image_per_patient": "不提供：每張測試影像都有自己的病人編號，病人未知，此表只會重複任務 E 的表。",
    "col_patients_images": "病人（影像）",
    "h_leakage": "洩漏敏感度：編號也出現在訓練集中的測試病人",
    "leakage_folder_only": "僅在 Kaggle 資料夾上執行，其檔名帶有跨分割重複出現的病人編號。",
    "leakage_intro": "Kaggle 的 personNNN 編號在訓練與測試中重複出現；編號是全域的（同一個孩子）還是各分割各自編號，"
                     "並無文件說明。以下為閾值 0.5 時任務 E 的指標，分別在病人編號也出現在訓練影像中的測試影像"
                     "與其餘影像上計算，附以病人為單位的 95% 信賴區間。共用編號皆為 PNEUMONIA 影像，"
                     "因此在同一類別內比較：共用與非共用 PNEUMONIA 影像的敏感度。",
    "leakage_shared": "編號也在訓練集", "leakage_unshared": "編號不在訓練集",
    "col_group": "測試影像", "col_images_pneumonia": "影像（PNEUMONIA）",
    "leakage_differ": "{run}：共用減非共用 PNEUMONIA 影像的敏感度為 {diff}（95% 信賴區間 {ci}）："
                      "兩者不同，共用編號可能是同一批孩子。",
    "leakage_same": "{run}：共用減非共用 PNEUMONIA 影像的敏感度為 {diff}（95% 信賴區間 {ci}）：未顯示差異。",
    "leakage_no_comparison": "{run}：沒有任何類別在兩組中都有測試影像，因此無法比較。",
    "errors_intro": "每次執行最有把握卻判錯的 {k} 張測試影像，附真實類別與預測為 PNEUMONIA 的機率。",
    "calibration_intro": "校準良好的模型，其預測機率等於實際發生頻率（對角線）。Brier 分數：機率的均方誤差；"
                         "ECE：以 {bins} 個等寬區間計算的期望校準誤差。兩者皆越低越好。",
    "best_metric": "{metric}最佳：{run}，{value}（95% 信賴區間 {lo} 至 {hi}）。",
    "best_lowest_loss": "測試損失最低：{run}，{value}（95% 信賴區間 {lo} 至 {hi}）。",
    "best_metric_seeds": "{metric}最佳：{run}，{n} 個亂數種子為 {value}。",
    "best_lowest_loss_seeds": "測試損失最低：{run}，{n} 個亂數種子為 {value}。",
    "metric_undefined": "所有執行的{metric}皆無定義（測試集只有一個類別）。",
    "lead_exceeds": "其信賴區間與第二名 {run}（{value}，{lo} 至 {hi}）不重疊：領先幅度超過測試集的抽樣不確定性"
                    "（每種各只訓練一次：未衡量不同亂數種子間的差異）。",
    "lead_within_seeds": "它領先 {run}（{value}）{lead}，不大於各亂數種子間的離散程度（標準差最高 {sd}）：不算勝出。",
    "lead_beyond_seeds": "它領先 {run}（{value}）{lead}，大於各亂數種子間的離散程度（標準差最高 {sd}），"
                         "且兩者在測試集上的"
                         " 95% 區間不重疊（{run}：{lo} 至 {hi}）。",
    "lead_beyond_seeds_within_test": "它領先 {run}（{value}）{lead}，大於各亂數種子間的離散程度（標準差最高 {sd}），"
                                     "但仍在"
                                     "測試集的不確定性之內（95% 區間重疊；{run}：{lo} 至 {hi}）：不能算勝出。",
    "lead_within": "其信賴區間與第二名 {run}（{value}，{lo} 至 {hi}）重疊：僅憑各自的信賴區間無法區分兩者（在相同影像上"
                   "的成對檢定更靈敏）。",
    "tie": "{runs} 的{metric}同為 {value}。",
    "lead_paired": "在相同影像上成對比較 {run} 與 {second}：準確率差異 {diff} 個百分點（95% 信賴區間 {lo} 至 {hi}），"
                   "成對檢定 {p}（Holm 校正後）：{verdict}。",
    "list_sep": "、",
    "pair_sentence": "{a} 對 {b}：準確率 {acc_a} 對 {acc_b}，差異 {diff} 個百分點（95% 信賴區間 {lo} 至 {hi}）；"
                     "成對檢定 {p}（Holm 校正後）：{verdict}。",
    "significant": "在 0.05 水準下顯著",
    "not_significant": "在 0.05 水準下不顯著",
    "significant_within_seeds": "在這些測試影像上顯著，但不大於各亂數種子間的離散程度：不算勝出",
    "pair_summary": "經 Holm 校正後，{m} 組成對差異中有 {k} 組在 0.05 水準下顯著。",
    "pair_summary_seeds": "這 {k} 組中有 {w} 組也大於各亂數種子間的離散程度。",
    "one_seed": "每種類型只以一個亂數種子訓練：這些結論並未衡量再訓練一次會使數字變動多少。",
    "mode_effect": "{backbone}：{mode_a}的測試準確率為 {acc_a}，{mode_b}為 {acc_b}（{verdict}）。",
    "reference_compare": "先前作業的模型（{name}：{ref}，損失 {ref_loss}；為報告值，非本專案計算）在準確率上被 {n} 次執"
                         "行中的 "
                         "{above} 次超越；其中 {sure} 次的整個 95% 信賴區間都高於它。",
    "calibration_best": "校準最佳：{run}（ECE {ece}，Brier {brier}）；最差：{worst}（ECE {worst_ece}）。",
    "youden_shift": "改用 Youden 門檻值後，各執行的敏感度變化介於 {lo} 至 {hi} 個百分點，"
                    "依驗證集的建議在敏感度與特異度之間取捨。",
    "one_run": "只有一次執行，無從比較。",
    "no_mistakes": "{run}：測試集上沒有錯誤。",
    "fastest": "本機推論最快：{backbone}（每張 {ms} 毫秒）；最小：{small}（{mb} MB）。",
    "squeezenet_head": "SqueezeNet 的新分類頭位於 torchvision 放置其分類器之處：先對特徵圖做 Dropout，再以 1x1 卷積輸出"
                       " "
                       "2 個類別，最後做全域平均池化（卷積後沒有 ReLU，否則會把 logits 截斷）。",
    "h_seeds": "重複實驗：各亂數種子間的離散程度",
    "seeds_one": "每種類型只訓練一次（亂數種子 {seeds}），因此未衡量不同訓練之間的離散程度。在此資料量下，"
                 "換一個亂數種子可能使測試準確率變動數個百分點：這種大小的差異可能只是偶然"
                 "（xray report --seeds 0,1,2 可衡量它）。",
    "seeds_intro": "同一類型、僅亂數種子不同的執行，門檻值 0.5：各種子的平均 ± 標準差，下方為每個種子的數值"
                   "（由最小的種子開始）。結論不會把不大於此離散程度的差異稱為勝出。",
    "col_kind": "類型", "col_seeds": "亂數種子",
    "disclosure_intro": "會改變數字的設定：凡是各執行之間不同或與作業不同者皆列出，並且一律列出精度、縮放方式、"
                        "評估的 epoch，以及（凍結執行的）特徵增強方式，並說明各自的影響。",
    "col_setting": "設定", "col_value": "數值", "col_homework": "作業", "col_differs": "不同",
    "col_effect": "影響", "col_speed": "訓練速度（張 / 秒）",
    "speed_stored_features": "使用先前執行已儲存的特徵",
    "select_best": "驗證損失最低的 epoch", "select_last": "最後一個 epoch",
    "views_fresh": "每個 epoch 重新抽取 ColorJitter", "views_stored": "每張影像儲存 {k} 個增強版本",
    "views_no_augment": "無資料增強",
    "world_value": "{n} 個行程，SyncBatchNorm {sync}",
    "set_precision": "精度", "set_resize_mode": "縮放方式", "set_select": "評估的 epoch",
    "set_feature_views": "凍結模式：儲存特徵的資料增強", "set_world": "資料平行行程數",
    "set_amp": "混合精度（amp）", "set_class_weights": "類別權重", "set_val_split": "驗證集切分",
    "set_val_fraction": "驗證集比例", "set_early_stopping": "提前停止（耐心值）",
    "set_train_fraction": "訓練影像比例", "set_dataset": "資料集", "set_weights": "初始權重",
    "set_img_size": "影像大小（裁切 / 縮放）", "set_epochs": "epoch 數", "set_batch_size": "批次大小",
    "set_lr": "學習率", "set_weight_decay": "權重衰減", "set_dropout": "dropout",
    "set_optimizer": "最佳化器", "set_scheduler": "學習率排程", "set_augment": "資料增強（ColorJitter）",
    "set_jitter": "ColorJitter 強度", "set_deterministic": "確定性演算法", "set_momentum": "動量",
    "set_step_size": "排程間隔（epoch）", "set_gamma": "排程衰減係數", "set_mnist_size": "PneumoniaMNIST 尺寸",
    "set_synthetic_train": "合成訓練影像數", "set_synthetic_test": "合成測試影像數",
    "eff_precision": "bf16 或 fp16 autocast 以 16 位元浮點數執行前向傳播（權重與最佳化器狀態仍為 fp32）：在具備 AMX 的 "
                     "CPU 上快數倍，每個數字都會有小幅差異（benchmarks/README.md 有實測）。",
    "eff_resize_mode": "square 把整張 X 光影像壓成 R x R，與作業相同；shorter-side 保持長寬比，"
                       "因此中央裁切會切掉寬影像外側的肺野。",
    "eff_select": "作業在最後一個 epoch 之後評估模型；改為評估驗證損失最低的 epoch，是以驗證集挑選檢查點，"
                  "而在此資料量下測試數字在各 epoch 之間會擺動數個百分點。",
    "eff_feature_views": "凍結模式的分類頭以每張訓練影像預先儲存的特徵訓練（只計算一次，含指定數量的 ColorJitter 版本）"
                         "，"
                         "而作業每個 epoch 都重新抽取 ColorJitter：資料增強的變化較少，但快很多倍。",
    "eff_world": "以多個行程做資料平行訓練；使用 SyncBatchNorm 時 BatchNorm 統計量涵蓋整個全域批次，"
                 "結果與單一行程相同。",
    "eff_amp": "是否允許使用混合精度（auto：硬體支援時使用）；實際計算的精度見「精度」一列。",
    "eff_class_weights": "損失函數依各類別頻率的倒數加權，會改變敏感度與特異度之間的平衡。",
    "eff_val_split": "patient：依病患從訓練影像中切出驗證集；given：使用資料本身的驗證資料夾（Kaggle 只有 16 張）。"
                     "它決定評估哪個 epoch 以及 Youden 門檻值。",
    "eff_val_fraction": "保留作為驗證集的訓練病患比例：訓練影像較少，但 epoch 與門檻值的選擇較穩定。",
    "eff_early_stopping": "驗證損失連續這麼多個 epoch 沒有下降就停止訓練，因此實際訓練的 epoch 可能少於設定值。",
    "eff_train_fraction": "只用部分訓練病患的執行屬於學習曲線：只出現在學習曲線一節，不列入任務 B 至 E。",
    "eff_dataset": "影像來源不同：這些數字與作業所用的 Kaggle 胸部 X 光無關。",
    "eff_weights": "初始權重決定遷移學習能遷移什麼：隨機權重衡量的是從頭訓練。",
    "eff_img_size": "影像越小越快，但會失去細節；每個數字都受其影響。",
    "eff_epochs": "訓練影像的遍歷次數與作業不同。",
    "eff_batch_size": "每次最佳化步驟的影像數：改變每一步的雜訊與 BatchNorm 統計量。",
    "eff_lr": "最佳化器的步長。",
    "eff_weight_decay": "權重 L2 懲罰的強度。",
    "eff_dropout": "訓練時分類頭輸入被丟棄的比例：一種正則化。",
    "eff_optimizer": "使用與作業的 AdamW 不同的最佳化器。",
    "eff_scheduler": "學習率隨 epoch 改變，而非維持不變。",
    "eff_augment": "沒有 ColorJitter 時，每個 epoch 看到的像素都相同：更容易過擬合。",
    "eff_jitter": "ColorJitter 改變亮度、對比、飽和度與色相的強度。",
    "eff_deterministic": "使用非確定性的 GPU 核心：重新執行會得到略有不同的數字。",
    "eff_momentum": "SGD 的動量。",
    "eff_step_size": "學習率每次衰減之間的 epoch 數。",
    "eff_gamma": "每次學習率衰減的倍率。",
    "eff_mnist_size": "PneumoniaMNIST 影像在縮放前的解析度。",
    "eff_synthetic_train": "產生的訓練影像數。",
    "eff_synthetic_test": "產生的測試影像數。",
    "set_synthetic_shortcut": "植入的捷徑（合成資料）",
    "eff_synthetic_shortcut": "訓練與測試的每張 PNEUMONIA 模擬影像角落都有亮點標記：網路可以改學這個捷徑"
                              "而非肺部（捷徑稽核必須找出它）。",
    "eff_other": "與作業不同的訓練設定（見 xray_utils/config.py 中的 RunConfig）。",
    "col_run": "執行", "col_backbone": "骨幹網路", "col_mode": "模式", "col_weights": "初始權重",
    "col_dataset": "資料集", "col_img_size": "影像大小（裁切 / 縮放）", "col_epochs": "epoch 數（評估的）",
    "col_batch": "批次大小", "col_lr": "學習率", "col_optimizer": "最佳化器", "col_scheduler": "學習率排程",
    "col_augment": "資料增強", "col_dropout": "dropout", "col_seed": "亂數種子",
    "col_train_time": "訓練時間（凍結：含特徵擷取）", "col_n": "影像數（訓練 / 驗證 / 測試）",
    "col_params": "參數量", "col_trainable": "可訓練（{mode}）", "col_head": "新分類頭",
    "col_macs": "MACs（{img} px）", "col_macs_224": "MACs（224 px）", "col_latency": "延遲（毫秒 / 張）",
    "col_size": "大小（MB）", "col_top1": "ImageNet top-1",
    "col_threshold": "門檻值", "col_brier": "Brier 分數", "col_ece": "ECE",
    "col_pair": "比較組", "col_diff": "準確率差異（百分點）", "col_p_mcnemar": "McNemar p（假設影像獨立）",
    "col_p_holm": "成對符號翻轉 p：原始 / Holm", "col_p_mcnemar_both": "McNemar p：原始 / Holm",
    "col_auc_diff": "ROC-AUC 差異", "col_p_auc": "ROC-AUC p：原始 / Holm",
    "col_verdict": "0.05 水準",
    "metric_accuracy": "準確率", "metric_loss": "損失", "metric_sensitivity": "敏感度",
    "metric_specificity": "特異度", "metric_precision": "精確度", "metric_npv": "陰性預測值", "metric_f1": "F1",
    "metric_roc_auc": "ROC-AUC", "metric_pr_auc": "PR-AUC", "metric_brier": "Brier 分數",
    "mode_finetune": "微調", "mode_frozen": "凍結", "mode_scratch": "從頭訓練",
    "weights_imagenet_short": "ImageNet", "weights_none_short": "隨機（無）",
    "yes": "是", "no": "否",
    "kind_tp": "真陽性", "kind_fp": "偽陽性", "kind_fn": "偽陰性", "kind_tn": "真陰性",
    "kind_tp_short": "TP", "kind_fp_short": "FP", "kind_fn_short": "FN", "kind_tn_short": "TN",
    "true_label": "實際 {label}", "p_label": "P(肺炎) {p}",
    "col_split": "分割", "col_images": "影像數", "col_patients": "病患數", "col_share": "PNEUMONIA 比例",
    "leak_none": "沒有任何病患編號同時出現在兩個以上的分割中。",
    "leak_found": "有 {n} 個病患編號出現在多個分割中：{pairs}。",
    "leak_caveat": "編號取自檔名，而 Kaggle 的 personNNN 編號可能是各分割各自編排：相同編號不一定是同一人，"
                   "不同編號也無法證明沒有人同時出現在兩個分割中。",
    "skipped_images": "已略過（無法讀取）：{n} 張：{files}。",
    "samples_note": "每個類別的前 {n} 張訓練影像，附檔案編號。",
    "intensities_note": "每個類別最多 {n} 張訓練影像（平均間隔抽樣）的像素值。",
    "check_ok": "資料檢查（內容相同的影像、無法讀取或多餘的檔案）未發現任何問題。",
    "check_problems": "資料檢查（內容相同的影像、無法讀取或多餘的檔案）發現：",
    "sizes_sampled": "{n} 張影像的原始尺寸（每個分割最多 {per_split} 張，平均間隔抽樣）。",
    "h_run_summary": "本次執行的測試指標",
    "h_overfitting": "過擬合：由訓練曲線量化",
    "of_rule": "判定規則：若最後 {window} 個 epoch（最小值之後若不足此數，則取其後所有 epoch，至少 {min_after} 個）的平"
               "均"
               "驗證損失比其最小值高出 {mild}% 以上，且上升幅度大於驗證損失本身的雜訊（以病人為單位的標準誤的 {ses} "
               "倍，"
               "取自 val_predictions.csv，且至少 {min_abs}），同時訓練損失仍持續下降，即判定為過擬合；高出 {strong}% "
               "以上為明顯過"
               "擬合。"
               "訓練曲線上的星號標示各次執行驗證損失的最小值。",
    "of_caveat": "訓練損失與準確率是每個 epoch 期間的移動平均，且開啟資料增強與 dropout；驗證則在 epoch 結束後、不使用"
                 "兩者時"
                 "量測。因此下表的差距（損失：驗證減訓練；準確率：訓練減驗證）在訓練初期會低估過擬合。",
    "col_of_min": "驗證損失最小值（epoch）", "col_of_rise": "其後上升幅度",
    "col_of_train": "其後訓練損失變化", "col_of_gap_selected": "評估 epoch 的差距：損失 / 準確率",
    "col_of_gap_last": "最後 epoch 的差距：損失 / 準確率", "col_of_test": "準確率：訓練 / 測試",
    "col_of_grade": "過擬合",
    "grade_none": "無", "grade_mild": "輕度", "grade_strong": "明顯", "grade_na": "epoch 太少",
    "of_improving": "{run}：驗證損失在最後一個 epoch（{epoch}，{value}）最低：沒有過擬合的跡象。",
    "of_flat": "{run}：驗證損失在第 {epoch} 個 epoch（共 {epochs} 個）降到最低（{value}）；最後 {window} 個 epoch 平均"
               "比它高 "
               "{rise_pct}，未達規則的 {mild}%：沒有過擬合。",
    "of_rising": "{run}：驗證損失在第 {epoch} 個 epoch（共 {epochs} 個）降到最低（{value}）；最後 {window} 個 epoch 平"
                 "均比它高 "
                 "{rise}（{rise_pct}），同時訓練損失下降了 {train_fall}：{grade}過擬合。",
    "of_noise": "{run}：驗證損失在第 {epoch} 個 epoch（共 {epochs} 個）降到最低（{value}）；最後 {window} 個 epoch 平均"
                "比它高 {rise_pct}，但絕對值只上升 {rise}，在其雜訊範圍內（{noise}）：沒有過擬合。",
    "of_unstable": "{run}：驗證損失比其最小值（第 {epoch} 個 epoch）上升了 {rise_pct}，但訓練損失也沒有下降（"
                   "{train_change}）："
                   "這是訓練不穩定，而非過擬合。",
    "of_too_short": "{run}：共 {epochs} 個 epoch，驗證損失最小值之後只有 {after} 個：太少，無法判斷是否過擬合。",
    "of_gap": "在評估的 epoch（{epoch}），訓練準確率為 {train}，驗證 {val}，測試 {test}。",
    "of_seeds": "{run}，{n} 個亂數種子：{n} 個中有 {k} 個過擬合（明顯 {strong} 個、輕度 {mild} 個）；驗證損失在第 "
                "{epoch} 個 "
                "epoch 降到最低，最後幾個 epoch 平均比它高 {rise_pct}；訓練減測試準確率為 {gap}（各種子的平均 ± 標準差"
                "）。",
    "of_seeds_unknown": "其中 {k} 個的 epoch 太少，無法判斷。",
    "of_summary": "依此規則，{n} 次執行中有 {k} 次過擬合：{runs}。",
    "of_summary_none": "依此規則，{n} 次執行都沒有過擬合。",
    # the homework's claims (report/claims_view.py)
    "h_claims": "作業的結論",
    "cl_intro": "逐一以這些執行檢驗原報告的各項結論。判定：支持（資料顯示此結論且超出其不確定性）、"
                "不支持（資料顯示相反，"
                "或結論所需的效果不存在）、無法判定（差異仍在不確定性之內）、未檢驗（這些執行無法檢驗；並說明需要什麼）。"
                "準確率的差異來自以病人為單位的成對檢定（Holm 校正，低於 {alpha} 為顯著；有多個亂數種子時，"
                "各種子的平均必須"
                "同向）；過擬合依過擬合一節的規則；「穩定」指沒有執行依該規則過擬合，且最後 {window} 個 epoch "
                "的驗證準確率"
                "（以及跨種子的測試準確率）標準差不超過 {limit}；HW3 的 {ref} 視為報告值、不附區間，且只在 Kaggle "
                "測試資料夾、"
                "224 px 下比較。",
    "cl_scratch": "這些執行從隨機權重開始：判定關於從頭訓練，而非 ImageNet 遷移學習。",
    "cl_scratch_short": "（隨機初始權重：關於從頭訓練，而非遷移學習。）",
    "col_cl_claim": "結論", "col_cl_verdict": "判定", "col_cl_evidence": "證據",
    "cl_verdict_supported": "支持", "cl_verdict_not_supported": "不支持",
    "cl_verdict_inconclusive": "無法判定", "cl_verdict_not_tested": "未檢驗",
    "claim_resnet18_finetune_overfits": "ResNet18 微調會過擬合，即使 lr 1e-4、weight decay 0.002、Dropout 0.5。",
    "claim_squeezenet_finetune_stable": "SqueezeNet 微調的準確率低於 ResNet18，但較穩定。",
    "claim_frozen_less_overfitting": "凍結骨幹（特徵擷取）可避免微調的過擬合。",
    "claim_frozen_lower_accuracy": "但凍結骨幹的準確率低於微調。",
    "claim_resnet18_finetune_best": "微調的 ResNet18 在四者中測試準確率最高。",
    "claim_squeezenet_adapts_small_data": "SqueezeNet 較能適應少量資料；資料更多時 ResNet18 會勝出。",
    "claim_squeezenet_not_below_hw3": "SqueezeNet 的測試準確率不低於 HW3 的 83.93%。",
    "claim_short_resnet18_finetune_overfits": "ResNet18 微調過擬合",
    "claim_short_squeezenet_finetune_stable": "SqueezeNet 微調較不準確但穩定",
    "claim_short_frozen_less_overfitting": "凍結可避免過擬合",
    "claim_short_frozen_lower_accuracy": "凍結準確率較低",
    "claim_short_resnet18_finetune_best": "微調 ResNet18 最佳",
    "claim_short_squeezenet_adapts_small_data": "少量資料時 SqueezeNet 較佳",
    "claim_short_squeezenet_not_below_hw3": "SqueezeNet 不低於 HW3",
    "cl_summary": "作業的結論（{n} 項）檢驗結果：支持 {supported}、不支持 {not_supported}、無法判定 {inconclusive}、"
                  "未檢驗 {not_tested}；支持的有：{which}。",
    "cl_none": "無",
    "cl_sep": "；",
    "cl_pair": "{a} 減 {b} {diff} [{lo}, {hi}]，{p}（Holm）",
    "cl_graded_run": "{run}：{grade}（驗證損失比最小值高 {rise}，雜訊門檻 {noise}）",
    "cl_ev_overfits": "{runs}；{n} 個可判定的執行中有 {k} 個依規則過擬合。",
    "cl_other_settings": "這些執行使用 lr {lr}、weight decay {wd}、Dropout {dropout}，而非結論所說的 1e-4、0.002、"
                         "0.5。",
    "cl_ev_stable": "準確率：{pair}：{accuracy}。穩定性：{stable}；最後 {window} 個 epoch 的驗證準確率標準差 {sds}"
                    "（上限 {limit}）；過擬合程度 {grades}。",
    "cl_acc_a": "{a} 較準確", "cl_acc_b": "{b} 較準確",
    "cl_acc_tie": "差異未超出不確定性",
    "cl_stable_yes": "穩定", "cl_stable_no": "不穩定", "cl_stable_unknown": "epoch 太少，無法判斷",
    "cl_seed_sd": "跨種子的測試準確率：標準差 {sd}。",
    "cl_ev_frozen_overfit": "{backbone}：凍結 {n_frozen} 個中 {k_frozen} 個、微調 {n_finetune} 個中 {k_finetune} "
                            "個過擬合",
    "cl_ev_best": "測試準確率（跨種子平均）：{accuracy}。成對檢定：{pairs}。",
    "cl_ev_learning": "{small} 對 {deep}：{n1} 張訓練影像時 {a1} 對 {b1}，{n2} 張時 {a2} 對 {b2}：{state}",
    "cl_ev_hw3": "{run}：測試準確率 {acc}（95% 區間 {lo} 至 {hi}），HW3 報告值 {ref}。",
    "cl_needs_resnet18_finetune": "需要微調的 ResNet18 執行及另一種組合（xray report --backbones "
                                  "resnet18,squeezenet1_1 --modes finetune,frozen）。",
    "cl_needs_epochs": "需要驗證損失最小值之後更多的 epoch（例如 --epochs 10）。",
    "cl_needs_both_finetune": "需要微調的 ResNet18 與 SqueezeNet 執行（--backbones resnet18,squeezenet1_1 --modes "
                              "finetune）。",
    "cl_needs_both_modes": "需要同一骨幹的凍結與微調執行（--modes finetune,frozen）。",
    "cl_needs_fractions": "需要多種訓練集大小：以 --fractions 0.1,0.25,0.5,1 執行。",
    "cl_needs_squeezenet_finetune": "需要微調的 SqueezeNet 執行（--backbones squeezenet1_1 --modes finetune）。",
    "cl_needs_kaggle_224": "需要 Kaggle chest_xray 測試資料夾（234 NORMAL、390 PNEUMONIA）、224 px（--dataset folder "
                           "--img-size 224），HW3 的 83.93% 是在此測得。",
    "h_learning": "學習曲線：訓練資料量會改變排名嗎？",
    "lc_intro": "每種執行都以訓練影像的 {fractions} 訓練（以病患為單位抽取，保留兩個類別；驗證集與測試集不變）。折線連"
                "接各種子"
                "的平均值；誤差線為 95% bootstrap 信賴區間；有多個種子時，色帶為平均 ± 標準差，點為各種子的結果。只有在"
                "兩者的"
                "區間（bootstrap 區間與平均 ± 標準差中較寬者）不重疊時，差異才算超出不確定性。",
    "lc_one_size": "所有執行都使用相同的訓練集大小（{n} 張影像），因此沒有學習曲線：`xray report --fractions 0.1,0.25,0"
                   ".5,1` "
                   "會另外以這些比例的訓練集訓練每種執行。",
    "lc_axis": "訓練影像數（對數刻度）",
    "lc_at_smallest": "訓練影像最少時（{n} 張）的{metric}：{a} {va} 對 {b} {vb}：{verdict}。",
    "lc_at_full": "訓練影像最多時（{n} 張）的{metric}：{a} {va} 對 {b} {vb}：{verdict}。",
    "lc_ahead": "{run} 領先，超出不確定性",
    "lc_no_diff": "差異未超出不確定性",
    "lc_cross_real": "{metric}曲線交叉且超出不確定性：{n1} 張影像時 {first} 領先，{n2} 張時 {second} 領先。",
    "lc_cross_nominal": "{metric}的平均值在 {n1} 與 {n2} 張影像之間交換順序，但仍在不確定性範圍內。",
    "lc_no_cross": "{a} 與 {b} 的{metric}曲線沒有交叉。",
    "lc_claim_backbone": "作業的主張：資料少時 {small} 適應得較好，資料多時 {deep} 的深度會勝出（{mode}，{metric}）："
                         "{verdict}。"
                         "{deep} 減 {small}：{n_small} 張影像時為 {d_small}，{n_full} 張時為 {d_full}；完整訓練集已是此"
                         "資料能"
                         "檢驗的上限，因此「多得多的資料」只能由此趨勢判斷。",
    "lc_claim_frozen": "{backbone}，訓練影像最多時（{n} 張）凍結與微調的比較：測試準確率 {acc_frozen} 對 {acc_tuned}，"
                       "{accuracy}；依過擬合規則，凍結的 {n_frozen} 次執行中有 {k_frozen} 次、微調的 {n_tuned} 次中有 "
                       "{k_tuned} 次過擬合。作業主張凍結特徵擷取器可避免過擬合但準確率較低：{verdict}。",
    "lc_acc_lower": "較低且超出不確定性", "lc_acc_tie": "差異未超出不確定性", "lc_acc_higher": "較高且超出不確定性",
    "lc_verdict_holds": "在此資料上成立", "lc_verdict_partly": "僅部分成立",
    "lc_verdict_not_supported": "此資料不支持",
    "lc_verdict_contradicted": "與此資料相反（順序反轉且超出不確定性）",
}

# Task A's architecture descriptions; English ones live beside the models (models.SPECS).
DESCRIPTIONS_ZH_TW = {
    "resnet18": "ResNet-18 以殘差區塊堆疊 3x3 卷積與批次正規化：每個區塊學習一個修正量 F(x)，經由恆等捷徑加回輸入，"
                "使梯度能傳到前面的層，深層網路也能穩定訓練。四個階段依序將解析度減半、通道數加倍（64 至 512），"
                "最後以全域平均池化為每張影像產生 512 維的特徵向量。",
    "squeezenet1_1": "SqueezeNet 以 Fire 模組組成網路，用約少 50 倍的參數達到 AlexNet 等級的 ImageNet 準確率："
                     "先以 1x1 的「squeeze」卷積減少通道數，再以混合 1x1 與 3x3 卷積的「expand」層展開。"
                     "它沒有全連接層：以 1x1 卷積為每個類別產生一張特徵圖，再以全域平均池化轉成分數。"
                     "1.1 版較早降低解析度，在相同準確率下計算量比 1.0 版少 2.4 倍。",
    "squeezenet1_0": "SqueezeNet 以 Fire 模組組成網路，用約少 50 倍的參數達到 AlexNet 等級的 ImageNet 準確率："
                     "先以 1x1 的「squeeze」卷積減少通道數，再以混合 1x1 與 3x3 卷積的「expand」層展開。"
                     "它沒有全連接層：以 1x1 卷積為每個類別產生一張特徵圖，再以全域平均池化轉成分數。"
                     "1.0 版是論文中的原始設計（第一層為 7x7 卷積）。",
    "densenet121": "DenseNet-121 在每個密集區塊內把每一層與前面所有層的特徵圖串接起來，特徵得以重複使用，"
                   "每層只需新增少量通道（成長率 32）。區塊之間的過渡層（1x1 卷積與池化）縮小特徵圖。"
                   "它是 CheXNet（知名的胸部 X 光肺炎偵測模型）所用的骨幹網路。",
    "mobilenet_v3_small": "MobileNetV3-Small 為手機設計：由深度可分離卷積構成的倒殘差區塊，加上 squeeze-and-excitation "
                          "注意力與低成本的 hard-swish 激活函數，其結構是在延遲限制下以神經架構搜尋找出。"
                          "每張 224 像素影像約需 6 千萬次乘加運算，比 ResNet-18 少 30 倍。",
    "efficientnet_b0": "EfficientNet-B0 是以神經架構搜尋從 MBConv 區塊（含 squeeze-and-excitation 與 SiLU 激活的倒殘差"
                       "）"
                       "找出的基準網路。論文的重點是複合縮放：深度、寬度與解析度依固定比例一起放大，得到 B1 至 B7；"
                       "B0 是最小的一個，以十分之一的計算量達到高於 ResNet-50 的 ImageNet 準確率。",
}
