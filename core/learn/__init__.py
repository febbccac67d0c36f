"""The learn stage: splitting systems, assembling learning data, ensemble prediction."""
