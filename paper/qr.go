package paper

import (
	"errors"
	"fmt"
	"image"
	"strings"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"
	qrdecoder "github.com/makiuchi-d/gozxing/qrcode/decoder"
	qrencoder "github.com/makiuchi-d/gozxing/qrcode/encoder"
)

// quiet is the white margin around a QR code, in modules (the standard's
// minimum).
const quiet = 4

// Symbol is a QR code's modules (a "symbol" in ISO/IEC 18004), without
// the quiet zone.
type Symbol struct {
	Size int // modules a side
	m    *qrencoder.ByteMatrix
}

// Black reports whether the module at column x, row y is dark.
func (c *Symbol) Black(x, y int) bool { return c.m.Get(x, y) == 1 }

// QR encodes text as a QR code: level M (15% of the code may be dirty
// or torn) when it fits, else L.
//
// The encoder is ZXing's (through gozxing), which picks the mask with the
// lowest ISO/IEC 18004 penalty. The penalty is not enough for codes as
// dense as ours (version 35 and up: the signer's certificate is most of
// a code): ZXing's finder-pattern search, inside many phone scanners, is
// misled by finder-like runs in the data of about one mask in eleven,
// and then cannot find the code even in a perfect image
// (testdata/mask0-unreadable.txt: four of its eight masks). So each
// code is read back, as a printer's verifier would, before it is
// used; a mask ZXing cannot find is replaced by the next.
func QR(text string) (*Symbol, error) {
	var lastErr error
	for _, level := range []qrdecoder.ErrorCorrectionLevel{qrdecoder.ErrorCorrectionLevel_M, qrdecoder.ErrorCorrectionLevel_L} {
		best, err := qrencoder.Encoder_encodeWithoutHint(text, level)
		if err != nil {
			lastErr = err // too long for this level
			continue
		}
		masks := []int{best.GetMaskPattern()}
		for m := range 8 {
			if m != best.GetMaskPattern() {
				masks = append(masks, m)
			}
		}
		for i, mask := range masks {
			c := best
			if i > 0 {
				if c, err = qrencoder.Encoder_encode(text, level, map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_QR_MASK_PATTERN: mask}); err != nil {
					return nil, fmt.Errorf("QR code of %d bytes, mask %d: %w", len(text), mask, err)
				}
			}
			m := c.GetMatrix()
			s := &Symbol{Size: m.GetWidth(), m: m}
			if s.readsBack(text) {
				return s, nil
			}
		}
		return nil, fmt.Errorf("QR code of %d bytes: ZXing cannot read it back under any mask", len(text))
	}
	return nil, fmt.Errorf("QR code of %d bytes: %w", len(text), lastErr)
}

// readBackScales are the pixels a module the read-back draws: a screen's
// (2 on the console's page, 4 at twice the pixel density) and a printed
// page's (6.5 cm at 300 to 600 dots an inch is 4 to 8 a module). ZXing's
// failures depend on the scale, and a code it read at 2 to 6 was once
// missed at 8, a screenshot of the printable page.
var readBackScales = []int{2, 3, 4, 5, 6, 7, 8}

// readsBack reports whether ZXing finds and reads the code, drawn with
// its quiet zone at each of readBackScales.
func (c *Symbol) readsBack(text string) bool {
	for _, scale := range readBackScales {
		if got, err := Decode(c.Image(scale)); err != nil || got != text {
			return false
		}
	}
	return true
}

// Image draws the code with its quiet zone, scale pixels a module.
func (c *Symbol) Image(scale int) *image.Gray {
	n := (c.Size + 2*quiet) * scale
	img := image.NewGray(image.Rect(0, 0, n, n))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := range c.Size {
		for x := range c.Size {
			if !c.Black(x, y) {
				continue
			}
			for py := (y + quiet) * scale; py < (y+quiet+1)*scale; py++ {
				row := img.Pix[py*img.Stride:]
				for px := (x + quiet) * scale; px < (x+quiet+1)*scale; px++ {
					row[px] = 0
				}
			}
		}
	}
	return img
}

// SVG draws a QR code as an SVG image: one path, a run of dark modules
// per row segment, with a quiet zone; title is its accessible name.
func SVG(c *Symbol, title string) string {
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
// with ZXing's decoder (github.com/makiuchi-d/gozxing). The tests also
// read every code with ZBar, an independent reader, so the encoder and
// decoder sharing a project cannot hide a code only ZXing reads.
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
