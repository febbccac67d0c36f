"""Stage functions: each runs one unit in a worker and writes its outputs into a fresh directory.

Every function has the signature ``run(unit, inputs, output_dir, context) -> dict``:
``inputs`` maps upstream keys to their artifact directories; the returned dict
is JSON-able metadata stored in the artifact's ``artifact.json``.
"""
