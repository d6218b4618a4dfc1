package deploy

import (
	_ "embed"
)

// dashboardJSON is a Grafana dashboard for kserve-gen model servers: one
// model's traffic, errors, latency (KServe's step histograms), queueing for
// --max_asyncio_workers slots, payload sizes, process and, for a
// transformer, its calls to its predictor. It is generic
// (namespace and model are dashboard variables read from
// kserve_requests_total), so one copy serves every model a Prometheus
// scrapes.
//
//go:embed dashboard.json
var dashboardJSON string

// DashboardJSON returns the Grafana dashboard --dashboard puts in its
// ConfigMap.
func DashboardJSON() string { return dashboardJSON }

const (
	// DashboardConfigMap is the ConfigMap's name: the dashboard is the same
	// for every model, so applying it for a second InferenceService
	// updates the one copy.
	DashboardConfigMap = "kserve-gen-dashboard"
	// dashboardKey names the file Grafana's sidecar writes the dashboard to.
	dashboardKey = "kserve-gen-model-server.json"
	// labelGrafanaDashboard is the label Grafana's dashboard sidecar (the
	// Grafana and kube-prometheus-stack Helm charts' default) watches for.
	labelGrafanaDashboard = "grafana_dashboard"
)

// dashboard is the ConfigMap holding the Grafana dashboard.
func (o *Options) dashboard() *ConfigMap {
	m := o.meta(DashboardConfigMap, o.Namespace, nil)
	m.Labels[labelGrafanaDashboard] = "1"
	return &ConfigMap{
		APIVersion: "v1",
		Kind:       KindConfigMap,
		Metadata:   m,
		Data:       map[string]string{dashboardKey: dashboardJSON},
	}
}
