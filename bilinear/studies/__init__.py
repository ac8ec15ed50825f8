"""Questions asked of many runs: noise ablation (noise), gradient-noise kappa (kappa), training
conditions side by side (conditions), the batch-size sweep (sweep, batch_keys), its statistics
(stats, study, prediction).  May import bilinear.algebra and bilinear.learn."""
