"""What people read: the claims-vs-evidence report (report) and the figures (figures,
study_plots).  Reads metrics files; may import bilinear.algebra."""
