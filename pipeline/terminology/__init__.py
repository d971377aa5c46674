"""The entity terminology: build (`build.py`), match (`matcher.py`), abbreviations
(`abbreviations.py`). The `entities` stage (`pipeline/stages/entities.py`) uses them."""
