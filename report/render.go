package report

import (
	"errors"
	"fmt"
	"io"
)

// Format is an output format.
type Format string

// Output formats.
const (
	FormatHTML     Format = "html"
	FormatMarkdown Format = "markdown"
	FormatJSON     Format = "json"
	FormatCSV      Format = "csv"
)

// Formats lists the supported formats.
var Formats = []Format{FormatHTML, FormatMarkdown, FormatJSON, FormatCSV}

// ErrUnknownFormat is returned for a format name that does not exist.
var ErrUnknownFormat = errors.New("unknown report format")

// ParseFormat checks a format name; "md" is accepted for markdown.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "md":
		return FormatMarkdown, nil
	case string(FormatHTML), string(FormatMarkdown), string(FormatJSON), string(FormatCSV):
		return Format(s), nil
	}
	return "", fmt.Errorf("%w %q, expected one of %v", ErrUnknownFormat, s, Formats)
}

// ContentType is the MIME type of a single-stream format, for HTTP
// responses and file uploads.
func (f Format) ContentType() string {
	switch f {
	case FormatHTML:
		return "text/html; charset=utf-8"
	case FormatMarkdown:
		return "text/markdown; charset=utf-8"
	case FormatJSON:
		return "application/json"
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatPDF:
		return "application/pdf"
	}
	return "application/octet-stream"
}

// Render writes the report in format f to w. It is the entry point for the
// CLI, the daemon's report endpoint and scheduled delivery alike. CSV is one
// file per inventory: Render writes the findings inventory; use CSV for
// another one or WriteCSVDir for all of them.
func Render(w io.Writer, f Format, in *Input) error {
	switch f {
	case FormatHTML:
		return HTML(w, in)
	case FormatMarkdown:
		return Markdown(w, in)
	case FormatJSON:
		return JSON(w, in)
	case FormatCSV:
		return CSV(w, InventoryFindings, in)
	}
	return fmt.Errorf("%w %q, expected one of %v", ErrUnknownFormat, f, Formats)
}
