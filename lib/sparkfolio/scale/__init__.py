"""Steel-plate scale defects: defect rates, statistical tests and models of their causes."""
