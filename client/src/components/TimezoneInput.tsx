// A time zone field: free text with the browser's IANA zone names as suggestions.

import { useId } from 'react';

function zoneNames(): string[] {
  const withZones = Intl as typeof Intl & { supportedValuesOf?: (key: string) => string[] };
  try {
    return withZones.supportedValuesOf?.('timeZone') ?? [];
  } catch {
    return [];
  }
}

export function TimezoneInput({
  value,
  onChange,
  ...props
}: {
  id: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  'aria-invalid': boolean;
  'aria-describedby': string | undefined;
}) {
  const listId = useId();
  return (
    <>
      <input {...props} list={listId} autoCapitalize="none" value={value} onChange={(e) => onChange(e.target.value)} />
      <datalist id={listId}>
        {zoneNames().map((zone) => (
          <option key={zone} value={zone} />
        ))}
      </datalist>
    </>
  );
}
