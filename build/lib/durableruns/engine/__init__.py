"""The only package that speaks Temporal: the run workflow, the attempt activity, the
search attributes, the data converter, the worker and the run service."""
