// The addon.yaml format, validated with zod at the edge (built-in and user addons alike).
import type { z } from 'zod';
import { lazySchema } from '../../lib/json-file.js';
import { MINOR_RELEASES } from '../kubernetes/versions.js';

/**
 * The Kubernetes minors kdev can run, taken from the one list the bootstrap uses (MINOR_RELEASES),
 * so the addons' window cannot drift from it. A profile whose minor leaves the window cannot start
 * again, so no older minor is kept here. Every shipped addon declares exactly these (a unit test);
 * addon.yaml itself checks only the format, so a user addon written for an older kdev still loads
 * when the window moves: a minor kdev cannot run is simply never asked about.
 */
export const SUPPORTED_KUBERNETES_MINORS: readonly string[] = MINOR_RELEASES.map((r) => r.minor);

/** `repo[:tag]@sha256:<64 hex>`; the tag is required too, so a human can read what is pinned. */
export const PINNED_IMAGE = /^[a-z0-9][a-z0-9.\-/_:]*:[\w][\w.-]{0,127}@sha256:[0-9a-f]{64}$/;

export const addonSchema = lazySchema((z) =>
  z.strictObject({
    name: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a DNS-1123 label'),
    description: z.string().min(1),
    upstream: z.strictObject({
      project: z.string().min(1),
      url: z.url(),
      version: z.string().min(1),
      /** Why this project: maintained, small, what it replaces. */
      why: z.string().min(1),
    }),
    /** Key → pinned reference; manifests refer to `${images.<key>}`. */
    images: z.record(
      z.string().regex(/^[a-z][a-z0-9-]*$/),
      z.strictObject({
        ref: z.string().regex(PINNED_IMAGE, 'must be repo:tag@sha256:<digest>'),
        /** Where the digest was seen (registries are not reachable where kdev is built). */
        digestSource: z.string().min(1),
      }),
    ),
    default: z.boolean(),
    kubernetesVersions: z.array(z.string().regex(/^1\.\d+$/, 'must be a minor like 1.34')).min(1),
    dependsOn: z.array(z.string()).default([]),
    /** Guest ports the cluster layer forwards to 127.0.0.1 on the host while the addon is enabled. */
    forwards: z
      .array(
        z.strictObject({
          name: z.string().regex(/^[a-z][a-z0-9-]*$/),
          guestPort: z.number().int().min(1).max(65535),
          /** Preferred host port; the cluster layer picks a free one when it is taken. */
          hostPort: z.number().int().min(1).max(65535).optional(),
          description: z.string().optional(),
        }),
      )
      .default([]),
  }),
);

export type AddonMeta = z.output<Awaited<ReturnType<typeof addonSchema>>>;
export type AddonForward = AddonMeta['forwards'][number];
