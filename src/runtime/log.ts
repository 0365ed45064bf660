// JSON logs (winston) with the fields operators filter on: controller,
// namespace, name, image. Nothing secret is ever passed to a logger.
import winston from 'winston';

export type Logger = winston.Logger;

export function createLogger(level = process.env.SHIPSHAPE_LOG_LEVEL ?? 'info'): Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors(),
      winston.format.json(),
    ),
    defaultMeta: { app: 'shipshape' },
    // Logs go to stderr so that command output on stdout stays machine-readable.
    transports: [new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) })],
  });
}
