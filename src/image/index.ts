/** Images in: decoding PNG and JPEG (bounded), MNIST-style preprocessing, image files and folders as a dataset. */
export { decodeImage, MAX_IMAGE_PIXELS, readImageHeader, sniffImage, type ImageFormat, type ImageHeader } from './decode.js';
export { BLANK_MESSAGE, preprocess, preprocessImage, type Preprocessed, type RasterImage } from './preprocess.js';
export { IMAGE_EXTENSIONS, isImageInput, readImageFiles, readImageSource, type ImageFiles, type ImageReadOptions } from './read-images.js';
