{{/* Small resources both service charts render the same way. */}}

{{- define "vitrina.serviceAccount" -}}
{{- if .Values.serviceAccount.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "vitrina.serviceAccountName" . }}
  labels:
    {{- include "vitrina.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end }}
{{- end -}}

{{/* maxUnavailable, not minAvailable: a single-replica bot must still let a node drain. */}}
{{- define "vitrina.pdb" -}}
{{- if .Values.pdb.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "vitrina.fullname" . }}
  labels:
    {{- include "vitrina.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .Values.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "vitrina.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}

{{/*
vitrina.service: (dict "ctx" $ "ports" list) -> a ClusterIP Service with the health port
(for a ServiceMonitor) and any extra ports.
*/}}
{{- define "vitrina.service" -}}
{{- $ctx := .ctx -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "vitrina.fullname" $ctx }}
  labels:
    {{- include "vitrina.labels" $ctx | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "vitrina.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: health
      port: {{ $ctx.Values.healthPort }}
      targetPort: health
      protocol: TCP
    {{- with .ports }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}

{{- define "vitrina.serviceMonitor" -}}
{{- with .Values.metrics.serviceMonitor }}
{{- if .enabled }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "vitrina.fullname" $ }}
  labels:
    {{- include "vitrina.labels" $ | nindent 4 }}
    {{- with .labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "vitrina.selectorLabels" $ | nindent 6 }}
  endpoints:
    - port: health
      path: /metrics
      interval: {{ .interval }}
      scrapeTimeout: {{ .scrapeTimeout }}
{{- end }}
{{- end }}
{{- end -}}
