"""The benchmark: `python -m bench` drives our bot and a plain PTB baseline side by side."""
