{{/* api.config: the API's own settings, in the ConfigMap and in the pods' checksum. */}}
{{- define "api.config" -}}
APP_CONF__API__PORT: {{ .Values.port | quote }}
APP_CONF__API__PAGE_SIZE: {{ .Values.config.pageSize | quote }}
APP_CONF__API__MAX_PAGE_SIZE: {{ .Values.config.maxPageSize | quote }}
{{- end -}}
