"""Faces in images: dlib detection, 68-point landmarks and the one crop function used everywhere."""
