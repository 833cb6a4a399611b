{{- define "worker.kedaEndpoint" -}}
{{- $shared := (include "vitrina.shared" . | fromYaml).nats | default dict -}}
{{- $endpoint := include "vitrina.pick" (list . .Values.autoscaling.keda.natsServerMonitoringEndpoint $shared.monitoringEndpoint) -}}
{{- required "worker: autoscaling.keda.natsServerMonitoringEndpoint is required with autoscaling.mode=keda" $endpoint -}}
{{- end -}}

{{/*
The container's memory limit, in bytes, as APP_CONF__WORKER__MEMORY_LIMIT_BYTES: the worker
derives what one render may decode from it (README "Memory limits"). Through the Downward
API it follows resources.limits.memory whatever the runtime or cgroup version; without a
limit there is nothing to pass (the variable would get the node's memory). An extraEnv
value wins: an operator may hold the worker below its limit.
*/}}
{{- define "worker.env" -}}
{{- if and (dig "limits" "memory" "" .Values.resources) (not (hasKey .Values.config.extraEnv "APP_CONF__WORKER__MEMORY_LIMIT_BYTES")) }}
- name: APP_CONF__WORKER__MEMORY_LIMIT_BYTES
  valueFrom:
    resourceFieldRef:
      containerName: {{ .Chart.Name }}
      resource: limits.memory
{{- end }}
{{- end -}}
