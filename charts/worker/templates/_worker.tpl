{{- define "worker.kedaEndpoint" -}}
{{- $shared := (include "vitrina.shared" . | fromYaml).nats | default dict -}}
{{- $endpoint := include "vitrina.pick" (list . .Values.autoscaling.keda.natsServerMonitoringEndpoint $shared.monitoringEndpoint) -}}
{{- required "worker: autoscaling.keda.natsServerMonitoringEndpoint is required with autoscaling.mode=keda" $endpoint -}}
{{- end -}}
