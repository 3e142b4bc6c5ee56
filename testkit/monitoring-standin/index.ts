export { BadRequest, checkPostMetricDataBody, MonitoringStandin, POST_METRIC_DATA_PATH, startMonitoringStandin, type MonitoringPost, type PostedMetric } from './server.js';
