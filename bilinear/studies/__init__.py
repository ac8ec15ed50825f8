"""Questions asked of many runs.  May import bilinear.algebra, bilinear.learn and
bilinear.search (its executor).  Modules:

- noise: noise ablation (perturb, then round);
- kappa: gradient-noise geometry (per-sample gradients, covariance, kappa);
- prediction: does early kappa predict a run's success;
- conditions: training conditions side by side (grokking, recipe claims, controls);
- anneal_grid: anneal's phase diagram over weight decay x L1;
- frontier: the paper's recipe and every method at <3,3,3>;
- sweep: the batch-size study's design, batched training and crystallization rows;
- sweep_batch: the study's validated settings and one batch size run end to end;
- sweep_bench: the study's benchmark (batched vs one at a time, the full study timed);
- sweep_table: the study's tables read and checked before any statistics;
- anneal_study: anneal in the batch-size study;
- batch_keys: names of the study's batch sizes (params key, stage suffix, file name);
- stats: ANOVA, Tukey HSD, logistic trend;
- study: every statistic of the study per crystallization method;
- replay: the study's runs retrained (identical trajectories), weights at matched checkpoints;
- curvature: the exact Hessian of the training loss and kappa_eff = -tr(H)/d;
- gradient_geometry: full per-sample gradient covariance spectra, effective rank, dispersion;
- geometry_study: the replayed runs measured (curvature, spectra) and joined with outcomes;
- factorial: cells of recipe x initialisation, trained and crystallized (init readings);
- odds: odds ratios of success per factor (logistic regression), Fisher's exact test;
- finetune: the fine-tuning baseline 2x2 -> 4x4 beside zero-shot expansion.
"""
