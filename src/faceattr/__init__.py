"""faceattr: 40 CelebA face attributes, gender and 5-point landmarks with efficient networks.

Conventions used everywhere: attribute labels are 1/0 (the files' +1/-1), gender is 1 for male,
landmarks are ``(5, 2)`` ``(x, y)`` pixel coordinates in the order left eye, right eye, nose,
left mouth corner, right mouth corner ("left" = the image's left).
"""

__version__ = "0.1.0"
