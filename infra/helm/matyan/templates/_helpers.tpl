{{/* Names: "<release>-matyan" unless overridden, cut to the 63 characters Kubernetes allows. */}}
{{- define "matyan.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "matyan.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "matyan.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "matyan.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component; call with (dict "root" $ "component" "api"). */}}
{{- define "matyan.selectorLabels" -}}
app.kubernetes.io/name: {{ include "matyan.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "matyan.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "matyan.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference; call with (dict "root" $ "image" .Values.image.api). */}}
{{- define "matyan.image" -}}
{{- $tag := default .root.Chart.AppVersion .root.Values.image.tag }}
{{- if .root.Values.image.registry }}
{{- printf "%s/%s:%s" .root.Values.image.registry .image.repository $tag }}
{{- else }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}
{{- end }}

{{- define "matyan.fdbConfigMapName" -}}
{{- if .Values.fdb.clusterFile }}
{{- printf "%s-fdb" (include "matyan.fullname" .) }}
{{- else }}
{{- default (printf "%s-fdb" (include "matyan.fullname" .)) .Values.fdb.existingConfigMap }}
{{- end }}
{{- end }}

{{- define "matyan.blobUriSecretName" -}}
{{- default (printf "%s-blob-uri" (include "matyan.fullname" .)) .Values.blobUriSecret.existingSecret }}
{{- end }}

{{- define "matyan.s3SecretName" -}}
{{- default (printf "%s-s3" (include "matyan.fullname" .)) .Values.blob.s3.existingSecret }}
{{- end }}

{{- define "matyan.kafkaSaslSecretName" -}}
{{- default (printf "%s-kafka-sasl" (include "matyan.fullname" .)) .Values.kafka.sasl.existingSecret }}
{{- end }}

{{/*
Environment shared by every process (API, workers, jobs). Variable names are the backend's contract
(see docs/configuration.md) plus MATYAN_STORE_ENGINE, which selects FoundationDB here.
*/}}
{{- define "matyan.env" -}}
- name: MATYAN_ENVIRONMENT
  value: {{ .Values.environment | quote }}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: MATYAN_STORE_ENGINE
  value: "fdb"
- name: FDB_CLUSTER_FILE
  value: {{ printf "%s/fdb.cluster" .Values.fdb.mountPath | quote }}
- name: FDB_API_VERSION
  value: {{ .Values.fdb.apiVersion | quote }}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ .Values.kafka.bootstrapServers | quote }}
- name: KAFKA_DATA_INGESTION_TOPIC
  value: {{ .Values.kafka.topics.dataIngestion | quote }}
- name: KAFKA_CONTROL_EVENTS_TOPIC
  value: {{ .Values.kafka.topics.controlEvents | quote }}
{{- if .Values.kafka.securityProtocol }}
- name: KAFKA_SECURITY_PROTOCOL
  value: {{ .Values.kafka.securityProtocol | quote }}
{{- end }}
{{- if .Values.kafka.sasl.enabled }}
- name: KAFKA_SASL_MECHANISM
  value: {{ .Values.kafka.sasl.mechanism | quote }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ include "matyan.kafkaSaslSecretName" . }}
      key: {{ .Values.kafka.sasl.usernameKey }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "matyan.kafkaSaslSecretName" . }}
      key: {{ .Values.kafka.sasl.passwordKey }}
{{- end }}
- name: BLOB_BACKEND_TYPE
  value: {{ .Values.blob.backend | quote }}
{{- if eq .Values.blob.backend "s3" }}
- name: S3_ENDPOINT
  value: {{ .Values.blob.s3.endpoint | quote }}
- name: S3_BUCKET
  value: {{ .Values.blob.s3.bucket | quote }}
- name: S3_REGION
  value: {{ .Values.blob.s3.region | quote }}
- name: S3_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "matyan.s3SecretName" . }}
      key: {{ .Values.blob.s3.accessKeyKey }}
- name: S3_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "matyan.s3SecretName" . }}
      key: {{ .Values.blob.s3.secretKeyKey }}
{{- else if eq .Values.blob.backend "gcs" }}
- name: GCS_BUCKET
  value: {{ .Values.blob.gcs.bucket | quote }}
{{- if .Values.blob.gcs.project }}
- name: GCS_PROJECT
  value: {{ .Values.blob.gcs.project | quote }}
{{- end }}
{{- if .Values.blob.gcs.credentialsSecret }}
- name: GOOGLE_APPLICATION_CREDENTIALS
  value: {{ printf "/var/run/secrets/matyan-gcs/%s" .Values.blob.gcs.credentialsKey | quote }}
{{- end }}
{{- else if eq .Values.blob.backend "azure" }}
- name: AZURE_CONTAINER
  value: {{ .Values.blob.azure.container | quote }}
{{- if .Values.blob.azure.accountUrl }}
- name: AZURE_ACCOUNT_URL
  value: {{ .Values.blob.azure.accountUrl | quote }}
{{- end }}
{{- if .Values.blob.azure.existingSecret }}
- name: AZURE_CONN_STR
  valueFrom:
    secretKeyRef:
      name: {{ .Values.blob.azure.existingSecret }}
      key: {{ .Values.blob.azure.connStrKey }}
{{- end }}
{{- end }}
- name: BLOB_URI_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "matyan.blobUriSecretName" . }}
      key: {{ .Values.blobUriSecret.key }}
{{- if .Values.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.otlpEndpoint | quote }}
{{- end }}
{{- end }}

{{/* Volumes every pod mounts: the FDB cluster file, a writable /tmp, and GCS credentials if any. */}}
{{- define "matyan.volumes" -}}
- name: fdb-cluster-file
  configMap:
    name: {{ include "matyan.fdbConfigMapName" . }}
    items:
      - key: {{ .Values.fdb.clusterFileKey }}
        path: fdb.cluster
- name: tmp
  emptyDir: {}
{{- if and (eq .Values.blob.backend "gcs") .Values.blob.gcs.credentialsSecret }}
- name: gcs-credentials
  secret:
    secretName: {{ .Values.blob.gcs.credentialsSecret }}
{{- end }}
{{- end }}

{{- define "matyan.volumeMounts" -}}
- name: fdb-cluster-file
  mountPath: {{ .Values.fdb.mountPath }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if and (eq .Values.blob.backend "gcs") .Values.blob.gcs.credentialsSecret }}
- name: gcs-credentials
  mountPath: /var/run/secrets/matyan-gcs
  readOnly: true
{{- end }}
{{- end }}

{{/* Probe timings; call with a probe's values (initialDelaySeconds, periodSeconds, ...). */}}
{{- define "matyan.probeTimings" -}}
initialDelaySeconds: {{ .initialDelaySeconds }}
periodSeconds: {{ .periodSeconds }}
timeoutSeconds: {{ .timeoutSeconds }}
failureThreshold: {{ .failureThreshold }}
{{- end }}
