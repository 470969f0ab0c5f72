"""The embedded default: a synthetic face set rendered from the procedural morphable model.

Ages 0–85 leave visible cues (proportions, skin texture and wrinkles, greying, jowls); expressions leave
crease patterns that look like wrinkles — the confound the 3D-aware model is meant to remove.
"""
