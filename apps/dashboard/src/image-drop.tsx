import { type DragEvent, useState } from 'react';

/** An image chosen with the file picker or dropped on the zone (keyboard: the picker is a button). */
export function ImageDrop({ onImage }: { onImage: (file: File) => void }) {
  const [over, setOver] = useState(false);
  const drop = (event: DragEvent) => {
    event.preventDefault();
    setOver(false);
    const file = event.dataTransfer.files[0];
    if (file) onImage(file);
  };
  return (
    <div
      className={`drop${over ? ' over' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={drop}
    >
      <label htmlFor="image">Drop an image here, or choose one</label>
      <input
        id="image"
        type="file"
        accept="image/*"
        onChange={(e) => {
          const file = e.target.files?.[0];
          if (file) onImage(file);
        }}
      />
    </div>
  );
}

/** The multipart form the vision routes take. */
export function visionForm(model: string, image: File, fields: Record<string, string>): FormData {
  const form = new FormData();
  form.set('model', model);
  for (const [key, value] of Object.entries(fields)) form.set(key, value);
  form.set('image', image, image.name);
  return form;
}
