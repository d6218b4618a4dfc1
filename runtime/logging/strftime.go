package logging

import (
	"strconv"
	"strings"
	"time"
)

// datefmt is a compiled C strftime pattern (the C locale, as Python's
// time.strftime prints it in a container). Codes the C library does not know
// are printed as written, like glibc does.
type datefmt struct {
	ops       []dateOp
	subSecond bool // uses %f, so a per-second cache cannot be used
}

type dateOp struct {
	code byte // 0: literal
	lit  string
}

var (
	shortDays   = [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	longDays    = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	shortMonths = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	longMonths  = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
)

const dateCodes = "aAbBcdDeFfHIjmMpSTuwxXyYzZhnt%"

func compileDatefmt(pattern string) datefmt {
	var d datefmt
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			d.ops = append(d.ops, dateOp{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' || i+1 >= len(pattern) || strings.IndexByte(dateCodes, pattern[i+1]) < 0 {
			lit.WriteByte(c)
			continue
		}
		i++
		switch code := pattern[i]; code {
		case '%':
			lit.WriteByte('%')
		case 'n':
			lit.WriteByte('\n')
		case 't':
			lit.WriteByte('\t')
		default:
			flush()
			if code == 'f' {
				d.subSecond = true
			}
			d.ops = append(d.ops, dateOp{code: code})
		}
	}
	flush()
	return d
}

func (d *datefmt) append(dst []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	for _, o := range d.ops {
		switch o.code {
		case 0:
			dst = append(dst, o.lit...)
		case 'Y':
			dst = appendInt(dst, year, 4)
		case 'y':
			dst = appendInt(dst, year%100, 2)
		case 'm':
			dst = appendInt(dst, int(month), 2)
		case 'd':
			dst = appendInt(dst, day, 2)
		case 'e':
			if day < 10 {
				dst = append(dst, ' ')
			}
			dst = strconv.AppendInt(dst, int64(day), 10)
		case 'H':
			dst = appendInt(dst, hour, 2)
		case 'I':
			h := hour % 12
			if h == 0 {
				h = 12
			}
			dst = appendInt(dst, h, 2)
		case 'M':
			dst = appendInt(dst, min, 2)
		case 'S':
			dst = appendInt(dst, sec, 2)
		case 'f':
			dst = appendInt(dst, t.Nanosecond()/1000, 6)
		case 'p':
			if hour < 12 {
				dst = append(dst, "AM"...)
			} else {
				dst = append(dst, "PM"...)
			}
		case 'a':
			dst = append(dst, shortDays[t.Weekday()]...)
		case 'A':
			dst = append(dst, longDays[t.Weekday()]...)
		case 'b', 'h':
			dst = append(dst, shortMonths[month-1]...)
		case 'B':
			dst = append(dst, longMonths[month-1]...)
		case 'j':
			dst = appendInt(dst, t.YearDay(), 3)
		case 'u':
			w := int(t.Weekday())
			if w == 0 {
				w = 7
			}
			dst = strconv.AppendInt(dst, int64(w), 10)
		case 'w':
			dst = strconv.AppendInt(dst, int64(t.Weekday()), 10)
		case 'D', 'x': // C locale: %m/%d/%y
			dst = appendInt(dst, int(month), 2)
			dst = append(dst, '/')
			dst = appendInt(dst, day, 2)
			dst = append(dst, '/')
			dst = appendInt(dst, year%100, 2)
		case 'F':
			dst = appendInt(dst, year, 4)
			dst = append(dst, '-')
			dst = appendInt(dst, int(month), 2)
			dst = append(dst, '-')
			dst = appendInt(dst, day, 2)
		case 'T', 'X':
			dst = appendClock(dst, hour, min, sec)
		case 'c': // C locale: "%a %b %e %H:%M:%S %Y"
			dst = append(dst, shortDays[t.Weekday()]...)
			dst = append(dst, ' ')
			dst = append(dst, shortMonths[month-1]...)
			dst = append(dst, ' ')
			if day < 10 {
				dst = append(dst, ' ')
			}
			dst = strconv.AppendInt(dst, int64(day), 10)
			dst = append(dst, ' ')
			dst = appendClock(dst, hour, min, sec)
			dst = append(dst, ' ')
			dst = appendInt(dst, year, 4)
		case 'z':
			_, off := t.Zone()
			if off < 0 {
				dst = append(dst, '-')
				off = -off
			} else {
				dst = append(dst, '+')
			}
			dst = appendInt(dst, off/3600, 2)
			dst = appendInt(dst, off%3600/60, 2)
		case 'Z':
			name, _ := t.Zone()
			dst = append(dst, name...)
		}
	}
	return dst
}

func appendClock(dst []byte, h, m, s int) []byte {
	dst = appendInt(dst, h, 2)
	dst = append(dst, ':')
	dst = appendInt(dst, m, 2)
	dst = append(dst, ':')
	return appendInt(dst, s, 2)
}

// appendInt appends n zero-padded to width digits.
func appendInt(dst []byte, n, width int) []byte {
	if n < 0 {
		dst = append(dst, '-')
		n = -n
	}
	var buf [20]byte
	i := len(buf)
	for n >= 10 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	i--
	buf[i] = byte('0' + n)
	for len(buf)-i < width {
		i--
		buf[i] = '0'
	}
	return append(dst, buf[i:]...)
}
