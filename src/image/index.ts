/** Images in: decoding PNG and JPEG (bounded), MNIST-style preprocessing, image files and folders as a dataset. */
export { decodeImage, MAX_IMAGE_PIXELS, readImageHeader, sniffImage, type ImageFormat, type ImageHeader } from './decode.js';
export { preprocess, preprocessImage, type Preprocessed, type RasterImage } from './preprocess.js';
export { IMAGE_EXTENSIONS, isImageInput, readImageDataset, type ImageDataset, type ImageReadOptions } from './read-images.js';
