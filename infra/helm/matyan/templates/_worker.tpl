{{/*
One worker Deployment. Call with (dict "root" $ "component" "ingest-worker" "command" "ingest-worker"
"values" .Values.ingestWorker "env" (list of extra {name, value})). Both workers serve Prometheus
metrics and their health endpoint (/health/) on METRICS_PORT.
*/}}
{{- define "matyan.workerDeployment" -}}
{{- $root := .root -}}
{{- $v := .values -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "matyan.fullname" $root }}-{{ .component }}
  labels:
    {{- include "matyan.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  replicas: {{ $v.replicaCount }}
  selector:
    matchLabels:
      {{- include "matyan.selectorLabels" (dict "root" $root "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "matyan.selectorLabels" (dict "root" $root "component" .component) | nindent 8 }}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $v.metricsPort | quote }}
        prometheus.io/path: /metrics
        checksum/fdb-cluster-file: {{ $root.Values.fdb.clusterFile | sha256sum }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "matyan.serviceAccountName" $root }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      {{- /* Let a worker finish its batch and commit before it is killed. */}}
      terminationGracePeriodSeconds: 60
      containers:
        - name: {{ .component }}
          image: {{ include "matyan.image" (dict "root" $root "image" $root.Values.image.worker) }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args:
            - {{ .command }}
          ports:
            - name: metrics
              containerPort: {{ $v.metricsPort }}
              protocol: TCP
          env:
            {{- include "matyan.env" $root | nindent 12 }}
            - name: METRICS_PORT
              value: {{ $v.metricsPort | quote }}
            {{- with .env }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- with $v.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          livenessProbe:
            httpGet:
              path: /health/
              port: metrics
            {{- include "matyan.probeTimings" $v.livenessProbe | nindent 12 }}
          readinessProbe:
            httpGet:
              path: /health/
              port: metrics
            {{- include "matyan.probeTimings" $v.readinessProbe | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          volumeMounts:
            {{- include "matyan.volumeMounts" $root | nindent 12 }}
      volumes:
        {{- include "matyan.volumes" $root | nindent 8 }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
