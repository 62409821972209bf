/* The app's picture path in the browser: centre square, then Lanczos to the model's size.
 *
 * A port of what the app does in Python (tlcore/data/imagefile.py: to_array, that is Pillow's
 * ImageOps.fit(image, (S, S), Image.LANCZOS)), down to Pillow's integer arithmetic
 * (src/libImaging/Resample.c: coefficients in double, normalised to 22-bit integers, a
 * horizontal pass clipped to 8 bits, then a vertical one), so that the same pixels in give the
 * same pixels out, and the model the same answer. Input: RGBA bytes as a canvas gives them. */
"use strict";
(function (root) {
  const PRECISION_BITS = 22;  // 32 - 8 - 2, as in Pillow
  const SUPPORT = 3.0;        // Lanczos-3

  function sinc(x) {
    if (x === 0) return 1.0;
    x *= Math.PI;
    return Math.sin(x) / x;
  }

  function lanczos(x) {
    return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
  }

  /* Pillow's precompute_coeffs + normalize_coeffs_8bpc: for each output pixel, the first input
   * pixel, how many, and their integer weights. The box edges are C floats there. */
  function coefficients(inSize, in0, in1, outSize) {
    in0 = Math.fround(in0);
    in1 = Math.fround(in1);
    const scale = Math.fround(in1 - in0) / outSize;
    const filterScale = scale < 1.0 ? 1.0 : scale;
    const support = SUPPORT * filterScale;
    const kSize = Math.ceil(support) * 2 + 1;
    const bounds = new Int32Array(outSize * 2);
    const weights = new Int32Array(outSize * kSize);
    const w = new Float64Array(kSize);
    const inverse = 1.0 / filterScale;
    for (let xx = 0; xx < outSize; xx++) {
      const center = in0 + (xx + 0.5) * scale;
      let xmin = Math.trunc(center - support + 0.5);
      if (xmin < 0) xmin = 0;
      let xmax = Math.trunc(center + support + 0.5);
      if (xmax > inSize) xmax = inSize;
      xmax -= xmin;
      let total = 0.0;
      for (let x = 0; x < xmax; x++) {
        w[x] = lanczos((x + xmin - center + 0.5) * inverse);
        total += w[x];
      }
      for (let x = 0; x < xmax; x++) {
        const k = total !== 0.0 ? w[x] / total : w[x];
        weights[xx * kSize + x] = k < 0 ? Math.trunc(-0.5 + k * (1 << PRECISION_BITS))
                                        : Math.trunc(0.5 + k * (1 << PRECISION_BITS));
      }
      bounds[xx * 2] = xmin;
      bounds[xx * 2 + 1] = xmax;
    }
    return { bounds, weights, kSize };
  }

  function clip8(sum) {
    const value = sum >> PRECISION_BITS;
    return value < 0 ? 0 : value > 255 ? 255 : value;
  }

  /* Rows [first, first + rows) of an RGB image (3 bytes a pixel, width inWidth), resized
   * across to outWidth. */
  function horizontal(pixels, inWidth, first, rows, outWidth, c) {
    const out = new Uint8Array(outWidth * rows * 3);
    const half = 1 << (PRECISION_BITS - 1);
    for (let y = 0; y < rows; y++) {
      const row = (y + first) * inWidth;
      for (let xx = 0; xx < outWidth; xx++) {
        const xmin = c.bounds[xx * 2], xmax = c.bounds[xx * 2 + 1], k = xx * c.kSize;
        let r = half, g = half, b = half;
        for (let x = 0; x < xmax; x++) {
          const at = (row + x + xmin) * 3, weight = c.weights[k + x];
          r += pixels[at] * weight;
          g += pixels[at + 1] * weight;
          b += pixels[at + 2] * weight;
        }
        const to = (y * outWidth + xx) * 3;
        out[to] = clip8(r);
        out[to + 1] = clip8(g);
        out[to + 2] = clip8(b);
      }
    }
    return out;
  }

  /* An RGB image resized down its columns to outHeight; its first row is source row ``shift``. */
  function vertical(pixels, width, outHeight, c, shift) {
    const out = new Uint8Array(width * outHeight * 3);
    const half = 1 << (PRECISION_BITS - 1);
    for (let yy = 0; yy < outHeight; yy++) {
      const ymin = c.bounds[yy * 2] - shift, ymax = c.bounds[yy * 2 + 1], k = yy * c.kSize;
      for (let xx = 0; xx < width; xx++) {
        let r = half, g = half, b = half;
        for (let y = 0; y < ymax; y++) {
          const at = ((y + ymin) * width + xx) * 3, weight = c.weights[k + y];
          r += pixels[at] * weight;
          g += pixels[at + 1] * weight;
          b += pixels[at + 2] * weight;
        }
        const to = (yy * width + xx) * 3;
        out[to] = clip8(r);
        out[to + 1] = clip8(g);
        out[to + 2] = clip8(b);
      }
    }
    return out;
  }

  function rgb(pixels, channels, count) {
    if (channels === 3) return pixels;
    const out = new Uint8Array(count * 3);
    for (let i = 0; i < count; i++) {
      out[i * 3] = pixels[i * channels];
      out[i * 3 + 1] = pixels[i * channels + 1];
      out[i * 3 + 2] = pixels[i * channels + 2];
    }
    return out;
  }

  function crop(pixels, width, left, top, outWidth, outHeight) {
    const out = new Uint8Array(outWidth * outHeight * 3);
    for (let y = 0; y < outHeight; y++) {
      const from = ((y + top) * width + left) * 3;
      out.set(pixels.subarray(from, from + outWidth * 3), y * outWidth * 3);
    }
    return out;
  }

  /* Pillow's Image.resize(size, LANCZOS, box) on RGB(A) pixels (channels 3 or 4 a pixel), RGB
   * bytes out. ``verticalFirst``: Pillow 13 and later resize down the columns first when the
   * height shrinks more than twice as much as the width (older ones always go across first). */
  function resize(pixels, channels, width, height, outWidth, outHeight, box, verticalFirst) {
    const source = rgb(pixels, channels, width * height);
    const b = box.map(Math.fround);  // C floats in Pillow
    if (outWidth === width && outHeight === height && box[0] === 0 && box[1] === 0 &&
        box[2] === width && box[3] === height) {
      return source === pixels ? Uint8Array.from(source) : source;  // Image.resize returns a copy
    }
    if (b[0] === Math.trunc(b[0]) && b[2] - b[0] === outWidth && b[1] === Math.trunc(b[1]) &&
        b[3] - b[1] === outHeight) {
      return crop(source, width, b[0], b[1], outWidth, outHeight);  // whole pixels, same size
    }
    const needHorizontal = outWidth !== width || b[0] !== 0 || b[2] !== outWidth;
    const needVertical = outHeight !== height || b[1] !== 0 || b[3] !== outHeight;
    const down = coefficients(height, box[1], box[3], outHeight);
    const across = coefficients(width, box[0], box[2], outWidth);
    if (verticalFirst && height - outHeight > 0 && height - outHeight > (width - outWidth) * 2) {
      const tall = needVertical ? vertical(source, width, outHeight, down, 0) : source;
      return needHorizontal ? horizontal(tall, width, 0, outHeight, outWidth, across) : tall;
    }
    if (!needHorizontal) {
      return needVertical ? vertical(source, width, outHeight, down, 0) : Uint8Array.from(source);
    }
    const first = down.bounds[0];
    const last = down.bounds[outHeight * 2 - 2] + down.bounds[outHeight * 2 - 1];
    const wide = horizontal(source, width, first, last - first, outWidth, across);
    return needVertical ? vertical(wide, outWidth, outHeight, down, first) : wide;
  }

  /* ImageOps.fit(image, (size, size), LANCZOS): the centre square, resized. RGB bytes out. */
  function fitSquare(pixels, channels, width, height, size, verticalFirst) {
    const ratio = width / height;
    let box;
    if (ratio === 1.0) {
      box = [0, 0, width, height];
    } else if (ratio >= 1.0) {
      const cropWidth = 1.0 * height, left = (width - cropWidth) * 0.5;
      box = [left, 0, left + cropWidth, height];
    } else {
      const cropHeight = width / 1.0, top = (height - cropHeight) * 0.5;
      box = [0, top, width, top + cropHeight];
    }
    return resize(pixels, channels, width, height, size, size, box, verticalFirst);
  }

  root.TLPicture = { fitSquare, resize };
})(typeof window !== "undefined" ? window : globalThis);
