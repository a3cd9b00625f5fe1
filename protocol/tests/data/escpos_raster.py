# Makes escpos_raster.json: pip install python-escpos==3.1 pillow; python escpos_raster.py (drop the warning lines python-escpos prints before the JSON).
import json
from PIL import Image
from escpos.printer import Dummy
cases = []
def pattern(w, h, f):
    img = Image.new("1", (w, h), 1)  # 1 = white
    for y in range(h):
        for x in range(w):
            if f(x, y):
                img.putpixel((x, y), 0)  # black ink
    return img
shapes = {
  "diagonal 16x8": (16, 8, lambda x, y: x == 2*y),
  "border 12x5 (width not a multiple of 8)": (12, 5, lambda x, y: x in (0, 11) or y in (0, 4)),
  "checker 24x3": (24, 3, lambda x, y: (x + y) % 2 == 0),
}
for name, (w, h, f) in shapes.items():
    d = Dummy()
    d.image(pattern(w, h, f), impl="bitImageRaster", center=False)
    ink = [[x, y] for y in range(h) for x in range(w) if f(x, y)]
    cases.append({"name": name, "input": {"width": w, "height": h, "ink": ink}, "expected": {"bytes_hex": d.output.hex().upper()}})
print(json.dumps(cases, indent=1))
