/**
 * S3 client settings from the environment, validated once. Credentials are never read here:
 * the AWS SDK's default chain finds them (env, profile, instance role), so they never pass
 * through nightshift's own objects, logs or job payloads.
 */
import { z } from 'zod';

const envSchema = z.object({
  NIGHTSHIFT_S3_ENDPOINT: z.url().optional(),
  NIGHTSHIFT_S3_REGION: z.string().min(1).optional(),
  AWS_REGION: z.string().min(1).optional(),
  NIGHTSHIFT_S3_FORCE_PATH_STYLE: z.enum(['true', 'false', '1', '0']).optional(),
  /** `when_required` suits MinIO/R2/s3rver; AWS works with either. */
  NIGHTSHIFT_S3_CHECKSUMS: z.enum(['when_required', 'when_supported']).optional(),
  NIGHTSHIFT_S3_PART_SIZE_MB: z.coerce.number().int().min(5).max(512).optional(),
  /** A connection that sends nothing for this long (a stalled body, a hung server) fails. */
  NIGHTSHIFT_S3_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).optional(),
});

export const DEFAULT_S3_IDLE_TIMEOUT_MS = 60_000;

export interface S3Settings {
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
  checksums: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';
  partSizeBytes: number;
  /** Socket inactivity that fails a request or a body being read (default 60 s). */
  idleTimeoutMs?: number;
}

export function s3SettingsFromEnv(env: NodeJS.ProcessEnv = process.env): S3Settings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid S3 settings in the environment: ${issues}`);
  }
  const e = parsed.data;
  const custom = e.NIGHTSHIFT_S3_ENDPOINT !== undefined;
  return {
    endpoint: e.NIGHTSHIFT_S3_ENDPOINT,
    region: e.NIGHTSHIFT_S3_REGION ?? e.AWS_REGION ?? 'us-east-1',
    // Custom endpoints (MinIO, s3rver) nearly always want path-style and minimal checksums.
    forcePathStyle: e.NIGHTSHIFT_S3_FORCE_PATH_STYLE ? ['true', '1'].includes(e.NIGHTSHIFT_S3_FORCE_PATH_STYLE) : custom,
    checksums: (e.NIGHTSHIFT_S3_CHECKSUMS ?? (custom ? 'when_required' : 'when_supported')) === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    partSizeBytes: (e.NIGHTSHIFT_S3_PART_SIZE_MB ?? 8) * 1024 * 1024,
    idleTimeoutMs: e.NIGHTSHIFT_S3_IDLE_TIMEOUT_MS ?? DEFAULT_S3_IDLE_TIMEOUT_MS,
  };
}
