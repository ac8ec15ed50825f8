"""Learning, crystallizing, verifying and compiling bilinear matrix-multiplication schemes."""
