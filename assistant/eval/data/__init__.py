"""Package data of the evaluations."""
