// The image's output policy label, checked at launch: an image whose policy does not parse never runs.
import { type OutputPolicy, outputPolicyClaims } from '@sealroom/core';
import { LauncherError } from './errors.ts';

/** The policy of `sealroom.output_policy`, or undefined when the image declares none. */
export function readImageOutputPolicy(labels: Readonly<Record<string, string>>): OutputPolicy | undefined {
  try {
    return outputPolicyClaims(labels)?.output_policy;
  } catch (cause) {
    throw new LauncherError(
      'ERR_LAUNCHER_OUTPUT_POLICY_INVALID',
      `failed to parse the image's output policy: ${(cause as Error).message} contact the image author`,
      { cause },
    );
  }
}
