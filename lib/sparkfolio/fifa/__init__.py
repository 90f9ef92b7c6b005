"""FIFA 19 player analytics: cleaning, aggregations, statistics, plots and a report."""
