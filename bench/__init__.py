"""`make bench`: benchmarks with each figure's baseline measured in the same run.

Each part is a module exposing ``run() -> dict[str, float]`` (figures by name) and optionally
``TARGETS`` (figure name → ``Target``); ``python -m bench`` runs the parts present, prints one
line per figure (PASS/FAIL beside those with a target) and a final JSON object.
"""
