{{/*
NetworkPolicies of the Vitrina pods. A pod selected by a policy that lists a direction in
policyTypes gets only the traffic the policy allows in that direction, so each policy
below denies everything but its rules.

Settings: the chart's own networkPolicy values win over global.vitrina.networkPolicy (the
umbrella's), key by key; a list left empty in both means any peer. Strings are rendered
as templates, so a selector may name the release ("{{ .Release.Name }}").
*/}}

{{/* vitrina.netpol.settings: root context -> YAML of the settings in force. */}}
{{- define "vitrina.netpol.settings" -}}
{{- $local := .Values.networkPolicy | default dict -}}
{{- $shared := (include "vitrina.shared" . | fromYaml).networkPolicy | default dict -}}
{{- $np := dict "enabled" (and (dig "enabled" true $local) (dig "enabled" true $shared)) -}}
{{- $defaults := dict "dns" 53 "postgresql" 5432 "nats" 4222 "telegram" 443 "otlp" 4318 -}}
{{- $_ := set $np "ports" (merge (dict) ($local.ports | default dict) ($shared.ports | default dict) $defaults) -}}
{{- range $key := list "metricsFrom" "webhookFrom" "apiFrom" "dnsTo" "natsTo" "postgresqlTo" "telegramTo" -}}
{{- $_ := set $np $key (coalesce (get $local $key) (get $shared $key) list) -}}
{{- end -}}
{{- /* No explicit peers for a server: its pods, when the umbrella names their labels. */ -}}
{{- range $server := list "nats" "postgresql" -}}
{{- $key := printf "%sTo" $server -}}
{{- $labels := dig $server "podLabels" dict $shared -}}
{{- if and (not (get $np $key)) $labels -}}
{{- $_ := set $np $key (list (dict "podSelector" (dict "matchLabels" $labels))) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $np "extraEgress" ($local.extraEgress | default list) -}}
{{- tpl (toYaml $np) . -}}
{{- end -}}

{{/*
vitrina.netpol.rule: (dict "ports" list "peers" list "direction" "from"|"to") -> one rule
as a YAML list item. Ports are {port, protocol} (TCP unless said); no ports means every
port, no peers means any peer.
*/}}
{{- define "vitrina.netpol.rule" -}}
{{- $rule := dict -}}
{{- with .ports -}}
{{- $ports := list -}}
{{- range . -}}
{{- $ports = append $ports (dict "port" .port "protocol" (.protocol | default "TCP")) -}}
{{- end -}}
{{- $_ := set $rule "ports" $ports -}}
{{- end -}}
{{- with .peers -}}
{{- $_ := set $rule $.direction . -}}
{{- end -}}
{{- toYaml (list $rule) -}}
{{- end -}}

{{/*
vitrina.netpol.egress: (dict "np" settings "servers" list "telegram" bool "otlp" bool) ->
egress rules: DNS, then each server of "servers" ("postgresql", "nats") on its port, then
Telegram's Bot API over HTTPS, the OTLP collector, and networkPolicy.extraEgress.
*/}}
{{- define "vitrina.netpol.egress" -}}
{{- $np := .np -}}
{{- $dns := list (dict "port" $np.ports.dns "protocol" "UDP") (dict "port" $np.ports.dns) -}}
{{ include "vitrina.netpol.rule" (dict "ports" $dns "peers" $np.dnsTo "direction" "to") }}
{{- range $server := .servers }}
{{ include "vitrina.netpol.rule" (dict "ports" (list (dict "port" (get $np.ports $server))) "peers" (get $np (printf "%sTo" $server)) "direction" "to") }}
{{- end }}
{{- if .telegram }}
{{ include "vitrina.netpol.rule" (dict "ports" (list (dict "port" $np.ports.telegram)) "peers" $np.telegramTo "direction" "to") }}
{{- end }}
{{- if .otlp }}
{{ include "vitrina.netpol.rule" (dict "ports" (list (dict "port" $np.ports.otlp)) "direction" "to") }}
{{- end }}
{{- with $np.extraEgress }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
vitrina.netpol.appPods: (dict "ctx" $ "components" list) -> a peer selecting this
release's Vitrina pods of those components (bot, worker, migrate, provision): the label
app.kubernetes.io/component every Vitrina pod template carries.
*/}}
{{- define "vitrina.netpol.appPods" -}}
podSelector:
  matchLabels:
    app.kubernetes.io/instance: {{ .ctx.Release.Name }}
    app.kubernetes.io/part-of: vitrina
  matchExpressions:
    - key: app.kubernetes.io/component
      operator: In
      values: {{ toJson .components }}
{{- end -}}

{{/*
vitrina.networkPolicy: (dict "ctx" $ "ingress" list ["servers" list] ["telegram" bool]) ->
the policy of a service chart's pods. Ingress: scrapes of the health port from metricsFrom
(kubelet probes come from the pod's own node, which NetworkPolicy always admits), plus the
chart's own rules. Egress: DNS, the servers (default Postgres and NATS), Telegram (unless
"telegram" is false), the OTLP collector when one is set, extraEgress.
*/}}
{{- define "vitrina.networkPolicy" -}}
{{- $ctx := .ctx -}}
{{- $np := include "vitrina.netpol.settings" $ctx | fromYaml -}}
{{- if $np.enabled }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "vitrina.fullname" $ctx }}
  labels:
    {{- include "vitrina.labels" $ctx | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "vitrina.selectorLabels" $ctx | nindent 6 }}
  policyTypes: [Ingress, Egress]
  ingress:
    {{- include "vitrina.netpol.rule" (dict "ports" (list (dict "port" "health")) "peers" $np.metricsFrom "direction" "from") | nindent 4 }}
    {{- with .ingress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  egress:
    {{- $servers := .servers | default (list "postgresql" "nats") }}
    {{- $telegram := ternary .telegram true (hasKey . "telegram") }}
    {{- $egress := dict "np" $np "servers" $servers "telegram" $telegram "otlp" (not (empty $ctx.Values.config.otlpEndpoint)) }}
    {{- include "vitrina.netpol.egress" $egress | nindent 4 }}
{{- end }}
{{- end -}}
