"""The featurize stage: snapshot selection and the per-system feature store."""
