/** The customers columns identify traits fill, each with its own trait time (the identities processor owns them). */
export const PROFILE_COLUMNS = [
  'email',
  'phone',
  'name',
  'date_of_birth',
  'gender',
  'country',
  'state',
  'city',
  'postal_code',
  'timezone',
] as const;
export type ProfileColumn = (typeof PROFILE_COLUMNS)[number];
