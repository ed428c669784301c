"""Section builders, one module per family of outputs; registered in :mod:`deepshadows.report.sections`."""
