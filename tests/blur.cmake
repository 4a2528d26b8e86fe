# Tests of blur/ (libmodq_blur and modq-media).
modq_add_test(test_blur_pdq SOURCES test_blur_pdq.c LIBS modq_blur)
modq_add_test(test_blur_pdq_reference SOURCES test_blur_pdq_reference.c LIBS modq_blur)
modq_add_test(test_blur_digest SOURCES test_blur_digest.c LIBS modq_blur)
modq_add_test(test_blur_opts SOURCES test_blur_opts.c LIBS modq_blur)
modq_add_test(test_blur_decode SOURCES test_blur_decode.c testutil.c LIBS modq_blur)
modq_add_test(test_blur_render SOURCES test_blur_render.c testutil.c LIBS modq_blur)
modq_add_test(test_blur_colour SOURCES test_blur_colour.c testutil.c LIBS modq_blur)
modq_add_test(test_blur_media SOURCES test_blur_media.c testutil.c LIBS modq_blur)
modq_add_test(test_blur_limits SOURCES test_blur_limits.c testutil.c LIBS modq_blur)
modq_add_script_test(test_blur_cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_blur_cli.sh
                     $<TARGET_FILE:modq-media>)
modq_add_test(test_blur_sandbox SOURCES test_blur_sandbox.c testutil.c LIBS modq_blur)
add_dependencies(test_blur_sandbox modq-media-sandbox modq-media-sandbox-test)
