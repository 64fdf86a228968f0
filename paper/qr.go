package paper

import (
	"errors"
	"fmt"
	"image"
	"strings"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"
	"rsc.io/qr"
)

// quiet is the white margin around a QR code, in modules (the standard's
// minimum).
const quiet = 4

// QR encodes text as a QR code: level M (15% of the code may be dirty
// or torn) when it fits, else L.
func QR(text string) (*qr.Code, error) {
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		c, err = qr.Encode(text, qr.L)
	}
	if err != nil {
		return nil, fmt.Errorf("QR code of %d bytes: %w", len(text), err)
	}
	return c, nil
}

// SVG draws a QR code as an SVG image: one path, a run of dark modules
// per row segment, with a quiet zone; title is its accessible name.
func SVG(c *qr.Code, title string) string {
	n := c.Size + 2*quiet
	var b strings.Builder
	// Two pixels a module on screen, whole pixels so no module blurs into
	// its neighbour; a printed page sizes it in centimetres (style.css).
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="qrcode" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s" shape-rendering="crispEdges">`, 2*n, 2*n, n, n, escape(title))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y := 0; y < c.Size; y++ {
		for x := 0; x < c.Size; {
			if !c.Black(x, y) {
				x++
				continue
			}
			start := x
			for x < c.Size && c.Black(x, y) {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start+quiet, y+quiet, x-start, x-start)
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String()
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// Decode reads the QR code in an image (a photo or a scan of the paper)
// with ZXing's decoder (github.com/makiuchi-d/gozxing, an independent
// implementation from the encoder above).
func Decode(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		return "", fmt.Errorf("no QR code found in the image: %w", err)
	}
	if res.GetText() == "" {
		return "", errors.New("the QR code is empty")
	}
	return res.GetText(), nil
}
