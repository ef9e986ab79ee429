"""Inferix oracle: Proof of Rendering.

``oracle.angv`` holds the ANGV algorithm (noise, keys, insertion geometry, verification). It is pure
algorithm: numpy, Pillow, OpenEXR and hashing, plus ``bpy`` in the modules that touch Blender scenes. It imports no
network code.
"""
