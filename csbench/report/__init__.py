"""Report stage: score stored predictions into tidy tables, paper tables and plots."""
