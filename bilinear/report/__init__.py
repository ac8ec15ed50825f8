"""What people read.  Reads metrics files; may import bilinear.algebra.  Modules:

- report: the claims-vs-evidence report (metrics/report.md), one row per claim;
- summary: the few headline numbers an experiment is compared by (metrics/summary.json);
- anneal_report, frontier, discover_report, kernel_report: its sections;
- hypotheses: rows for the paper's untested hypotheses and the geometry-of-learning section;
- figures: the main pipeline's figures;
- study_plots, anneal_plots, discover_plots, geometry_plots: the figures of the study,
  anneal's grid, discovery and the geometry study.
"""
