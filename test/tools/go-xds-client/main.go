// Command go-xds-client emulates N Envoy proxies against kuma-cp's DP server with grpc-go over
// TLS (Go crypto/tls: a TLS stack other than kuma-cp's OpenSSL, as Kuma's own load tool and any
// Go xDS client use), doing State of the World ADS as Envoy does: node id and kuma-dp's metadata
// (the Dataplane travels in `dataplane.resource`, so kuma-cp registers it), CDS and LDS
// wildcard, EDS for the clusters CDS names, RDS and SDS for the names LDS/CDS reference, and an
// ACK for every response.
//
// While the proxies run, a churn loop creates and deletes Dataplanes over kuma-cp's REST API, so
// EDS keeps changing and many responses flow on every stream.
//
// Any stream that ends before the run does is a failure: the command prints each one (which
// proxy, when, how many ACKs the run had sent by then, the error) and exits 1. It also exits 1
// when a response was not ACKed, a proxy never got a complete config (CDS, LDS and the EDS it
// subscribed to), or a churn request failed. The last line of stdout is a JSON summary.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	typeCluster  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	typeEndpoint = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	typeListener = "type.googleapis.com/envoy.config.listener.v3.Listener"
	typeRoute    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
	typeSecret   = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
	typeHcm      = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
	typeUpTls    = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
	typeDownTls  = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
)

var shortType = map[string]string{
	typeCluster: "CDS", typeEndpoint: "EDS", typeListener: "LDS", typeRoute: "RDS", typeSecret: "SDS",
}

type options struct {
	addr          string
	api           string
	proxies       int
	services      int
	reachable     int
	outbounds     int
	edsAll        bool
	randomRamp    bool
	nodeFirstOnly bool
	captureDir    string
	captureBytes  int
	keyLog        string
	ramp          time.Duration
	duration      time.Duration
	churnRate     float64
	churnKeep     int
	mesh          string
	prefix        string
	caCert        string
	serverName    string
	progress      time.Duration
}

// totals over the whole run
type totals struct {
	responses atomic.Int64
	acks      atomic.Int64
	opened    atomic.Int64
	died      atomic.Int64
	byType    sync.Map // short type -> *atomic.Int64
}

func (t *totals) countType(typeURL string) {
	name := shortType[typeURL]
	if name == "" {
		name = typeURL
	}
	v, _ := t.byType.LoadOrStore(name, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

type death struct {
	Proxy     string  `json:"proxy"`
	AtSeconds float64 `json:"at_s"`
	// ACKs the whole run had sent when the stream died, and this stream's own.
	RunAcks    int64  `json:"run_acks"`
	StreamAcks int64  `json:"stream_acks"`
	Error      string `json:"error"`
}

type proxy struct {
	index    int
	name     string
	service  string
	reach    []string
	node     *corev3.Node
	start    time.Time
	complete atomic.Bool
	// per stream
	responses int64
	acks      int64
}

type subscription struct {
	names   []string // nil = wildcard (CDS, LDS)
	version string
	nonce   string
	got     bool
}

func serviceName(i, services int) string {
	return fmt.Sprintf("svc-%04d", i%services)
}

func addressOf(n int) string {
	return fmt.Sprintf("10.%d.%d.%d", (n>>16)&255, (n>>8)&255, n&255)
}

func newProxy(o *options, i int) (*proxy, error) {
	p := &proxy{index: i, name: fmt.Sprintf("%s-%d", o.prefix, i), service: serviceName(i, o.services)}
	for k := 1; k <= o.reachable; k++ {
		p.reach = append(p.reach, serviceName(i+k, o.services))
	}
	reach := make([]any, 0, len(p.reach))
	for _, s := range p.reach {
		reach = append(reach, s)
	}
	networking := map[string]any{
		"address": addressOf(i + 1),
		"admin":   map[string]any{"port": 9901},
		"inbound": []any{map[string]any{
			"port": 8080, "servicePort": 18080,
			"tags": map[string]any{"kuma.io/service": p.service, "kuma.io/protocol": "http"},
		}},
	}
	if o.outbounds > 0 {
		// Explicit outbounds (no transparent proxying), as Kuma's own load tool does.
		outbound := []any{}
		for k := 1; k <= o.outbounds; k++ {
			outbound = append(outbound, map[string]any{"port": 10000 + k,
				"tags": map[string]any{"kuma.io/service": serviceName(i+k, o.services)}})
		}
		networking["outbound"] = outbound
	} else {
		tp := map[string]any{"redirectPortInbound": 15006, "redirectPortOutbound": 15001}
		if len(reach) > 0 {
			tp["reachableServices"] = reach
		}
		networking["transparentProxying"] = tp
	}
	dataplane := map[string]any{"type": "Dataplane", "mesh": o.mesh, "name": p.name,
		"networking": networking}
	dpJSON, err := json.Marshal(dataplane)
	if err != nil {
		return nil, err
	}
	workdir := fmt.Sprintf("/tmp/kuma-dp-%d", i)
	meta, err := structpb.NewStruct(map[string]any{
		"version": map[string]any{
			"kumaDp": map[string]any{"version": "2.14.3", "gitTag": "2.14.3",
				"gitCommit": "go-xds-client", "buildDate": "2026-01-01T00:00:00Z"},
			"envoy": map[string]any{"version": "1.38.2",
				"build": "go-xds-client/1.38.2/Clean/RELEASE/BoringSSL", "kumaDpCompatible": true},
		},
		"features": []any{"feature-tcp-accesslog-via-named-pipe", "feature-otel-via-kuma-dp",
			"feature-strict-inbound-ports", "feature-reuse-port"},
		"workdir":                    workdir,
		"systemCaPath":               "/etc/ssl/certs/ca-certificates.crt",
		"ipv6Enabled":                false,
		"dataplane.resource":         string(dpJSON),
		"dataplane.admin.port":       "9901",
		"dataplane.admin.address":    "127.0.0.1",
		"dataplane.admin.socketPath": workdir + "/kuma-envoy-admin.sock",
		"dataplane.dns.port":         "15054",
		"dataplane.proxyType":        "dataplane",
	})
	if err != nil {
		return nil, err
	}
	p.node = &corev3.Node{
		Id:            o.mesh + "." + p.name,
		Cluster:       p.service,
		Metadata:      meta,
		UserAgentName: "envoy",
		UserAgentVersionType: &corev3.Node_UserAgentBuildVersion{UserAgentBuildVersion: &corev3.BuildVersion{
			Version: &typev3.SemanticVersion{MajorNumber: 1, MinorNumber: 38, Patch: 2}}},
		ClientFeatures: []string{"envoy.lb.does_not_support_overprovisioning",
			"envoy.lrs.supports_send_all_clusters", "envoy.config.require-any-fields-contain-struct"},
	}
	return p, nil
}

// sdsNames adds the SDS secret names a transport socket references.
func sdsNames(ts *corev3.TransportSocket, out map[string]bool) {
	if ts == nil || ts.GetTypedConfig() == nil {
		return
	}
	var common *tlsv3.CommonTlsContext
	switch ts.GetTypedConfig().GetTypeUrl() {
	case typeUpTls:
		var c tlsv3.UpstreamTlsContext
		if ts.GetTypedConfig().UnmarshalTo(&c) == nil {
			common = c.GetCommonTlsContext()
		}
	case typeDownTls:
		var c tlsv3.DownstreamTlsContext
		if ts.GetTypedConfig().UnmarshalTo(&c) == nil {
			common = c.GetCommonTlsContext()
		}
	}
	if common == nil {
		return
	}
	for _, s := range common.GetTlsCertificateSdsSecretConfigs() {
		out[s.GetName()] = true
	}
	if s := common.GetValidationContextSdsSecretConfig(); s != nil {
		out[s.GetName()] = true
	}
	if s := common.GetCombinedValidationContext().GetValidationContextSdsSecretConfig(); s != nil {
		out[s.GetName()] = true
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func sameNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// adsState is one stream's view: what it subscribed to and the names it derived from CDS/LDS.
type adsState struct {
	subs     map[string]*subscription
	cdsSds   map[string]bool
	ldsSds   map[string]bool
	edsNames []string
	// EDS subscribed with no names (every ClusterLoadAssignment) instead of the names CDS gives.
	edsWildcard bool
	// The node only in the stream's first request (Envoy's set_node_on_first_message_only).
	nodeFirstOnly bool
	sentNode      bool
}

func newAdsState(edsWildcard bool) *adsState {
	s := &adsState{subs: map[string]*subscription{
		typeCluster:  {},
		typeListener: {},
	}, cdsSds: map[string]bool{}, ldsSds: map[string]bool{}, edsWildcard: edsWildcard}
	if edsWildcard {
		s.subs[typeEndpoint] = &subscription{}
	}
	return s
}

// initialTypes: what a new stream asks for first.
func (s *adsState) initialTypes() []string {
	if s.edsWildcard {
		return []string{typeCluster, typeListener, typeEndpoint}
	}
	return []string{typeCluster, typeListener}
}

func (s *adsState) request(node *corev3.Node, typeURL string) *discoveryv3.DiscoveryRequest {
	sub := s.subs[typeURL]
	if s.nodeFirstOnly && s.sentNode {
		node = nil
	}
	s.sentNode = true
	return &discoveryv3.DiscoveryRequest{
		Node: node, TypeUrl: typeURL, ResourceNames: sub.names,
		VersionInfo: sub.version, ResponseNonce: sub.nonce,
	}
}

// onResponse records the response, and returns the ACK first, then any subscription changes.
func (s *adsState) onResponse(node *corev3.Node, r *discoveryv3.DiscoveryResponse) []*discoveryv3.DiscoveryRequest {
	sub, ok := s.subs[r.GetTypeUrl()]
	if !ok {
		sub = &subscription{}
		s.subs[r.GetTypeUrl()] = sub
	}
	sub.version = r.GetVersionInfo()
	sub.nonce = r.GetNonce()
	sub.got = true
	out := []*discoveryv3.DiscoveryRequest{s.request(node, r.GetTypeUrl())}
	switch r.GetTypeUrl() {
	case typeCluster:
		eds := map[string]bool{}
		s.cdsSds = map[string]bool{}
		for _, res := range r.GetResources() {
			var c clusterv3.Cluster
			if err := res.UnmarshalTo(&c); err != nil {
				continue
			}
			if c.GetType() == clusterv3.Cluster_EDS {
				name := c.GetEdsClusterConfig().GetServiceName()
				if name == "" {
					name = c.GetName()
				}
				eds[name] = true
			}
			sdsNames(c.GetTransportSocket(), s.cdsSds)
			for _, m := range c.GetTransportSocketMatches() {
				sdsNames(m.GetTransportSocket(), s.cdsSds)
			}
		}
		if !s.edsWildcard {
			out = append(out, s.resubscribe(node, typeEndpoint, sortedKeys(eds))...)
		} else {
			s.edsNames = sortedKeys(eds)
		}
		out = append(out, s.resubscribeSds(node)...)
	case typeListener:
		rds := map[string]bool{}
		s.ldsSds = map[string]bool{}
		for _, res := range r.GetResources() {
			var l listenerv3.Listener
			if err := res.UnmarshalTo(&l); err != nil {
				continue
			}
			chains := append([]*listenerv3.FilterChain{}, l.GetFilterChains()...)
			if l.GetDefaultFilterChain() != nil {
				chains = append(chains, l.GetDefaultFilterChain())
			}
			for _, fc := range chains {
				sdsNames(fc.GetTransportSocket(), s.ldsSds)
				for _, f := range fc.GetFilters() {
					rdsName(f.GetTypedConfig(), rds)
				}
			}
		}
		out = append(out, s.resubscribe(node, typeRoute, sortedKeys(rds))...)
		out = append(out, s.resubscribeSds(node)...)
	}
	return out
}

func rdsName(cfg *anypb.Any, out map[string]bool) {
	if cfg == nil || cfg.GetTypeUrl() != typeHcm {
		return
	}
	var h hcmv3.HttpConnectionManager
	if cfg.UnmarshalTo(&h) == nil && h.GetRds() != nil {
		out[h.GetRds().GetRouteConfigName()] = true
	}
}

func (s *adsState) resubscribeSds(node *corev3.Node) []*discoveryv3.DiscoveryRequest {
	all := map[string]bool{}
	for k := range s.cdsSds {
		all[k] = true
	}
	for k := range s.ldsSds {
		all[k] = true
	}
	return s.resubscribe(node, typeSecret, sortedKeys(all))
}

// resubscribe sends a request for typeURL when its names changed (an empty list once subscribed
// unsubscribes, as Envoy does).
func (s *adsState) resubscribe(node *corev3.Node, typeURL string, names []string) []*discoveryv3.DiscoveryRequest {
	sub, ok := s.subs[typeURL]
	if !ok {
		if len(names) == 0 {
			return nil
		}
		sub = &subscription{}
		s.subs[typeURL] = sub
	} else if sameNames(sub.names, names) {
		return nil
	}
	sub.names = names
	if names == nil {
		sub.names = []string{}
	}
	if typeURL == typeEndpoint {
		s.edsNames = names
	}
	return []*discoveryv3.DiscoveryRequest{s.request(node, typeURL)}
}

// complete: CDS and LDS arrived, and EDS too when CDS named any EDS cluster.
func (s *adsState) complete() bool {
	if !s.subs[typeCluster].got || !s.subs[typeListener].got {
		return false
	}
	if eds, ok := s.subs[typeEndpoint]; ok && len(s.edsNames) > 0 && !eds.got {
		return false
	}
	return true
}

type runner struct {
	o       *options
	t       totals
	start   time.Time
	ctx     context.Context
	creds   credentials.TransportCredentials
	mu      sync.Mutex
	deaths  []death
	alive   atomic.Int64
	unacked atomic.Int64
}

func (r *runner) fail(p *proxy, err error) {
	r.t.died.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deaths = append(r.deaths, death{
		Proxy: p.name, AtSeconds: time.Since(r.start).Seconds(), RunAcks: r.t.acks.Load(),
		StreamAcks: p.acks, Error: err.Error(),
	})
}

// runProxy opens one connection and one ADS stream and keeps it until the run ends.
func (r *runner) runProxy(p *proxy) {
	capture := &captureConn{limit: r.o.captureBytes}
	dialOpts := []grpc.DialOption{grpc.WithTransportCredentials(r.creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256 << 20))}
	if r.o.captureDir != "" {
		dialOpts = append(dialOpts, grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			capture.mu.Lock()
			capture.Conn, capture.head, capture.window, capture.sent = c, nil, nil, nil
			capture.windowStart, capture.recordsBefore, capture.boundaries, capture.next = 0, 0, nil, 0
			capture.mu.Unlock()
			return capture, nil
		}))
	}
	conn, err := grpc.NewClient(r.o.addr, dialOpts...)
	if err != nil {
		r.fail(p, fmt.Errorf("dial: %w", err))
		return
	}
	defer conn.Close()
	client := discoveryv3.NewAggregatedDiscoveryServiceClient(conn)
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	r.t.opened.Add(1)
	stream, err := client.StreamAggregatedResources(ctx)
	if err != nil {
		if r.ctx.Err() == nil {
			r.fail(p, fmt.Errorf("failed to open the ADS stream: %w", err))
		}
		return
	}
	r.alive.Add(1)
	defer r.alive.Add(-1)
	state := newAdsState(r.o.edsAll)
	state.nodeFirstOnly = r.o.nodeFirstOnly
	for _, t := range state.initialTypes() {
		if err := stream.Send(state.request(p.node, t)); err != nil {
			if r.ctx.Err() == nil {
				r.fail(p, fmt.Errorf("failed to send the first discovery request: %w", err))
			}
			return
		}
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			if r.ctx.Err() == nil {
				if errors.Is(err, io.EOF) {
					err = errors.New("the server closed the stream (EOF)")
				}
				r.fail(p, fmt.Errorf("failed to receive a discovery response: %w", err))
				r.dumpCapture(p, capture)
			}
			return
		}
		p.responses++
		r.t.responses.Add(1)
		r.t.countType(resp.GetTypeUrl())
		reqs := state.onResponse(p.node, resp)
		for i, req := range reqs {
			if err := stream.Send(req); err != nil {
				if i == 0 {
					r.unacked.Add(1)
				}
				if r.ctx.Err() == nil {
					// grpc-go: a stream the server or the connection ended fails Send with io.EOF;
					// Recv tells why.
					if errors.Is(err, io.EOF) {
						if _, why := stream.Recv(); why != nil {
							err = fmt.Errorf("%w (%v)", err, why)
						}
					}
					if i == 0 {
						r.fail(p, fmt.Errorf("failed to ACK a discovery response: %w", err))
					} else {
						r.fail(p, fmt.Errorf("failed to send a discovery request: %w", err))
					}
					r.dumpCapture(p, capture)
				}
				return
			}
			if i == 0 {
				p.acks++
				r.t.acks.Add(1)
			}
		}
		if !p.complete.Load() && state.complete() {
			p.complete.Store(true)
		}
	}
}

// captureConn records the raw TLS stream the server sent on a connection, for -capture-dir: its
// first 16 KiB (the handshake) and a window of the latest whole records (at least half of -capture-bytes),
// with how many records came before the window, so that the records can be walked and decrypted
// offline (with -tls-key-log) when the connection's stream dies.
type captureConn struct {
	net.Conn
	mu    sync.Mutex
	limit int
	head  []byte
	// window holds the stream from the absolute offset windowStart, which is a record boundary.
	window        []byte
	windowStart   int64
	recordsBefore int
	// Record boundaries parsed so far (absolute offsets) from windowStart on, and the next one.
	boundaries []int64
	next       int64
	sent       []byte // the first bytes the client sent (its ClientHello: the client random)
}

func (c *captureConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.mu.Lock()
		if room := 16384 - len(c.head); room > 0 {
			c.head = append(c.head, b[:min(n, room)]...)
		}
		c.window = append(c.window, b[:n]...)
		end := c.windowStart + int64(len(c.window))
		for c.next+5 <= end {
			c.boundaries = append(c.boundaries, c.next)
			h := c.window[c.next-c.windowStart:]
			c.next += 5 + (int64(h[3])<<8 | int64(h[4]))
		}
		if len(c.window) > c.limit {
			// Drop whole records from the front, keeping at least limit/2 bytes.
			i := 0
			for i < len(c.boundaries)-1 && end-c.boundaries[i+1] >= int64(c.limit/2) {
				i++
			}
			cut := c.boundaries[i] - c.windowStart
			c.window = append([]byte(nil), c.window[cut:]...)
			c.windowStart = c.boundaries[i]
			c.recordsBefore += i
			c.boundaries = append([]int64(nil), c.boundaries[i:]...)
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *captureConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if room := 4096 - len(c.sent); room > 0 {
		c.sent = append(c.sent, b[:min(len(b), room)]...)
	}
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (r *runner) dumpCapture(p *proxy, c *captureConn) {
	if r.o.captureDir == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	prefix := fmt.Sprintf("%s/%s", r.o.captureDir, p.name)
	meta, _ := json.Marshal(map[string]any{"window_start": c.windowStart, "records_before": c.recordsBefore})
	for name, data := range map[string][]byte{".head.bin": c.head, ".window.bin": c.window,
		".client-to-server.bin": c.sent, ".meta.json": meta} {
		if err := os.WriteFile(prefix+name, data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "go-xds-client: capture:", err)
		}
	}
}

// churn creates and deletes Dataplanes over the REST API, `keep` at a time, `rate` per second.
type churnResult struct {
	ops    int
	errors []string
}

func (r *runner) churn(stop <-chan struct{}) churnResult {
	var res churnResult
	if r.o.api == "" || r.o.churnRate <= 0 {
		return res
	}
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, name string, body []byte) {
		url := fmt.Sprintf("%s/meshes/%s/dataplanes/%s", strings.TrimRight(r.o.api, "/"), r.o.mesh, name)
		req, err := http.NewRequest(method, url, bytes.NewReader(body))
		if err != nil {
			res.errors = append(res.errors, err.Error())
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		res.ops++
		if err != nil {
			res.errors = append(res.errors, fmt.Sprintf("%s %s: %v", method, name, err))
			return
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 && resp.StatusCode != 201 {
			res.errors = append(res.errors, fmt.Sprintf("%s %s: %d %s", method, name, resp.StatusCode, msg))
		}
	}
	interval := time.Duration(float64(time.Second) / r.o.churnRate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var live []string
	for k := 0; ; {
		select {
		case <-stop:
			for _, name := range live {
				do(http.MethodDelete, name, nil)
			}
			return res
		case <-tick.C:
		}
		if len(live) >= r.o.churnKeep {
			do(http.MethodDelete, live[0], nil)
			live = live[1:]
			continue
		}
		name := fmt.Sprintf("%s-churn-%d", r.o.prefix, k)
		n := 200000 + k
		svc := serviceName(k, r.o.services)
		body, _ := json.Marshal(map[string]any{
			"type": "Dataplane", "mesh": r.o.mesh, "name": name,
			"networking": map[string]any{"address": addressOf(n), "inbound": []any{map[string]any{
				"port": 8080, "tags": map[string]any{"kuma.io/service": svc, "kuma.io/protocol": "http"}}}},
		})
		do(http.MethodPut, name, body)
		live = append(live, name)
		k++
	}
}

func main() {
	o := &options{}
	flag.StringVar(&o.addr, "addr", "127.0.0.1:5678", "kuma-cp DP server (host:port, TLS)")
	flag.StringVar(&o.api, "api", "", "kuma-cp API server URL for the churn loop (e.g. http://127.0.0.1:5681)")
	flag.IntVar(&o.proxies, "proxies", 1000, "emulated proxies (one connection and ADS stream each)")
	flag.IntVar(&o.services, "services", 50, "services the proxies' inbounds take round-robin")
	flag.IntVar(&o.reachable, "reachable", 3, "reachable services per proxy (transparent proxying; 0: every service)")
	flag.IntVar(&o.outbounds, "outbounds", 0, "> 0: explicit outbounds to the next N services instead of transparent proxying")
	flag.BoolVar(&o.edsAll, "eds-wildcard", false, "subscribe to EDS with no names from the start (as Kuma's load tool), not to the names CDS gives")
	flag.DurationVar(&o.ramp, "ramp", 20*time.Second, "streams open evenly over this period")
	flag.StringVar(&o.captureDir, "capture-dir", "", "write the raw bytes the server sent on a connection whose stream died here (debugging)")
	flag.IntVar(&o.captureBytes, "capture-bytes", 8<<20, "bytes kept per connection for -capture-dir")
	flag.StringVar(&o.keyLog, "tls-key-log", "", "write the TLS secrets here, NSS key log format (debugging)")
	flag.BoolVar(&o.nodeFirstOnly, "node-first-only", false, "send the node only in a stream's first request")
	flag.BoolVar(&o.randomRamp, "random-ramp", false, "each stream opens at a random time of the ramp instead")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "how long the run lasts from its start")
	flag.Float64Var(&o.churnRate, "churn-rate", 20, "Dataplane creates/deletes per second over REST")
	flag.IntVar(&o.churnKeep, "churn-keep", 20, "churn Dataplanes alive at once")
	flag.StringVar(&o.mesh, "mesh", "default", "mesh")
	flag.StringVar(&o.prefix, "prefix", "goxds", "Dataplane name prefix")
	flag.StringVar(&o.caCert, "ca-cert", "", "PEM CA of the DP server certificate (default: not verified)")
	flag.StringVar(&o.serverName, "server-name", "", "name checked in the server certificate (with -ca-cert)")
	flag.DurationVar(&o.progress, "progress", 5*time.Second, "progress line on stderr this often (0: none)")
	flag.Parse()
	if o.proxies <= 0 || o.services <= 0 || o.duration <= o.ramp || o.churnKeep <= 0 {
		fmt.Fprintln(os.Stderr, "go-xds-client: need -proxies > 0, -services > 0, -churn-keep > 0, -duration > -ramp")
		os.Exit(2)
	}
	tlsConfig := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // a test client, see -ca-cert
	if o.caCert != "" {
		pem, err := os.ReadFile(o.caCert)
		if err != nil {
			fmt.Fprintln(os.Stderr, "go-xds-client:", err)
			os.Exit(2)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintln(os.Stderr, "go-xds-client: no certificate in", o.caCert)
			os.Exit(2)
		}
		tlsConfig = &tls.Config{RootCAs: pool, ServerName: o.serverName}
	}
	if o.keyLog != "" {
		f, err := os.Create(o.keyLog)
		if err != nil {
			fmt.Fprintln(os.Stderr, "go-xds-client:", err)
			os.Exit(2)
		}
		defer f.Close()
		tlsConfig.KeyLogWriter = f
	}
	proxies := make([]*proxy, o.proxies)
	for i := range proxies {
		p, err := newProxy(o, i)
		if err != nil {
			fmt.Fprintln(os.Stderr, "go-xds-client:", err)
			os.Exit(2)
		}
		proxies[i] = p
	}

	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{o: o, start: time.Now(), ctx: ctx, creds: credentials.NewTLS(tlsConfig)}
	var wg sync.WaitGroup
	rng := rand.New(rand.NewSource(1))
	for i, p := range proxies {
		p.start = r.start.Add(time.Duration(int64(o.ramp) * int64(i) / int64(o.proxies)))
		if o.randomRamp {
			p.start = r.start.Add(time.Duration(rng.Int63n(int64(o.ramp) + 1)))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-time.After(time.Until(p.start)):
				r.runProxy(p)
			case <-ctx.Done():
			}
		}()
	}
	stopChurn := make(chan struct{})
	churnDone := make(chan churnResult, 1)
	go func() { churnDone <- r.churn(stopChurn) }()
	if o.progress > 0 {
		go func() {
			t := time.NewTicker(o.progress)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					fmt.Fprintf(os.Stderr, "progress t=%.0fs streams=%d alive=%d died=%d responses=%d acks=%d\n",
						time.Since(r.start).Seconds(), r.t.opened.Load(), r.alive.Load(), r.t.died.Load(),
						r.t.responses.Load(), r.t.acks.Load())
				}
			}
		}()
	}
	time.Sleep(time.Until(r.start.Add(o.duration)))
	close(stopChurn)
	churn := <-churnDone
	// Everything the run counts is taken before the streams are cancelled.
	aliveAtEnd := r.alive.Load()
	complete := 0
	for _, p := range proxies {
		if p.complete.Load() {
			complete++
		}
	}
	r.mu.Lock()
	deaths := append([]death{}, r.deaths...)
	r.mu.Unlock()
	responses, acks := r.t.responses.Load(), r.t.acks.Load()
	cancel()
	wg.Wait()

	byType := map[string]int64{}
	r.t.byType.Range(func(k, v any) bool {
		byType[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	reasons := map[string]int{}
	for _, d := range deaths {
		reasons[d.Error]++
	}
	failures := []string{}
	if len(deaths) > 0 {
		failures = append(failures, fmt.Sprintf("%d of %d streams died", len(deaths), o.proxies))
	}
	if int(aliveAtEnd) != o.proxies {
		failures = append(failures, fmt.Sprintf("%d of %d streams alive at the end", aliveAtEnd, o.proxies))
	}
	if responses != acks {
		failures = append(failures, fmt.Sprintf("%d responses but %d ACKs", responses, acks))
	}
	if complete != o.proxies {
		failures = append(failures, fmt.Sprintf("%d of %d proxies never got a complete config", o.proxies-complete, o.proxies))
	}
	if len(churn.errors) > 0 {
		failures = append(failures, fmt.Sprintf("%d of %d churn requests failed (first: %s)", len(churn.errors), churn.ops, churn.errors[0]))
	}
	for i, d := range deaths {
		if i == 20 {
			fmt.Printf("... and %d more dead streams\n", len(deaths)-20)
			break
		}
		fmt.Printf("dead stream: proxy %s at %.1fs after %d ACKs in the run (%d on this stream): %s\n",
			d.Proxy, d.AtSeconds, d.RunAcks, d.StreamAcks, d.Error)
	}
	for _, f := range failures {
		fmt.Println("FAIL:", f)
	}
	summary := map[string]any{
		"proxies": o.proxies, "streams_opened": r.t.opened.Load(), "streams_alive_at_end": aliveAtEnd,
		"streams_died": len(deaths), "died_reasons": reasons, "responses": responses, "acks": acks,
		"responses_by_type": byType, "complete": complete, "churn_ops": churn.ops,
		"churn_errors": len(churn.errors), "duration_s": o.duration.Seconds(), "deaths": deaths,
		"ok": len(failures) == 0,
	}
	out, _ := json.Marshal(summary)
	fmt.Println(string(out))
	if len(failures) > 0 {
		os.Exit(1)
	}
}
