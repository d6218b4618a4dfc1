package storage

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A listing service that answers every page with the same continuation
// token (a broken S3-compatible server or proxy) is an error after the
// second page, where the download listed it forever, piling up the same
// objects in memory while the server never started.
func TestListing_RepeatedContinuationToken(t *testing.T) {
	cases := map[string]struct {
		page  string // every answer
		uri   string
		setup func(d *downloadEnv, r *Resolver, url string)
		want  string
	}{
		"s3": {
			page: `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>same</NextContinuationToken>` +
				`<Contents><Key>m/model.onnx</Key><Size>3</Size><ETag>"e"</ETag></Contents></ListBucketResult>`,
			uri: "s3://bucket/m",
			setup: func(d *downloadEnv, _ *Resolver, url string) {
				d.env["AWS_ENDPOINT_URL"] = url
				d.env["awsAnonymousCredential"] = "true"
				isolateAWS(t, d)
			},
			want: `listing s3://bucket/m: the service sent the continuation token "same" twice: its listing would never end`,
		},
		"gcs": {
			page: `{"items": [{"name": "m/model.onnx", "generation": "1", "size": "3"}], "nextPageToken": "same"}`,
			uri:  "gs://bucket/m",
			setup: func(d *downloadEnv, _ *Resolver, url string) {
				d.env["STORAGE_EMULATOR_HOST"] = strings.TrimPrefix(url, "http://")
				d.env["CLOUDSDK_CONFIG"] = t.TempDir()
			},
			want: `listing gs://bucket/m: the service sent the continuation token "same" twice: its listing would never end`,
		},
		"azure": {
			page: `<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Blobs><Blob><Name>m/model.onnx</Name>` +
				`<Properties><Content-Length>3</Content-Length><Etag>e</Etag></Properties></Blob></Blobs><NextMarker>same</NextMarker></EnumerationResults>`,
			uri:   azureURI + "container/m",
			setup: func(_ *downloadEnv, r *Resolver, url string) { r.azureEndpoint = func(string) string { return url } },
			want:  `listing ` + azureURI + `container/m: the service sent the continuation token "same" twice: its listing would never end`,
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var requests atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				fmt.Fprint(w, c.page)
			}))
			defer srv.Close()
			d := newDownloadEnv(t)
			r := d.resolver()
			c.setup(d, &r, srv.URL)
			r.Getenv = func(k string) string { return d.env[k] }
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := r.Resolve(ctx, c.uri)
			assert.EqualError(t, err, c.want)
			assert.ErrorIs(t, err, ErrDownload)
			assert.Equal(t, int64(2), requests.Load(), "the first page and the one whose token came back")
			assertNoModelLeft(t, d.cache)
		})
	}
}
