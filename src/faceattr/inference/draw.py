"""Draw faces (box, 5 landmarks, gender, top attributes) on a copy of an image."""

from __future__ import annotations

from typing import Any

from PIL import Image, ImageDraw

POINT_COLOURS = ("#00e5ff", "#ff4081", "#ffea00", "#76ff03", "#ff9100")  # l-eye .. r-mouth


def annotate(image: Image.Image, faces: list[dict[str, Any]], *, top: int = 5) -> Image.Image:
    """A copy of ``image`` with each face's box, landmarks and a short label drawn."""
    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    scale = max(1, round(max(out.size) / 400))
    for face in faces:
        x0, y0, x1, y1 = face["box"]
        draw.rectangle([x0, y0, x1, y1], outline="#00ff88", width=2 * scale)
        for (x, y), colour in zip(face.get("landmarks", []), POINT_COLOURS, strict=False):
            r = 2 * scale
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour, outline="black")
        best = sorted(face.get("attributes", {}).items(), key=lambda kv: -kv[1])[:top]
        gender = face.get("gender", {})
        lines = [f"{gender.get('label', '?')} {gender.get('p_male', float('nan')):.2f}"]
        lines += [f"{name} {p:.2f}" for name, p in best if p >= 0.5]
        text_y = y1 + 2
        for line in lines:
            draw.text((x0, text_y), line, fill="#ffffff", stroke_width=1, stroke_fill="black")
            text_y += 11
    return out
